# The README's recipe for checking a signed evidence export offline
# (section "Revisions, outcomes, evidence"), run by TestPythonRecipe.
# Usage: python3 verify_evidence.py DIR keys.json
import base64, datetime, hashlib, json, os, sys
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

def verify_evidence(dir, keys):  # keys: the parsed keys.json, {"keys": [...]}
    manifest = open(os.path.join(dir, "manifest.json"), "rb").read()
    version, kid, sig = open(os.path.join(dir, "manifest.sig")).read().strip().split(";")
    assert version == "v1" and kid.startswith("kid=") and sig.startswith("sig=")
    key = next(k for k in keys["keys"] if k["key_id"] == kid[4:])  # StopIteration: unknown key
    if "expires_at" in key:
        assert datetime.datetime.now(datetime.timezone.utc) < datetime.datetime.fromisoformat(key["expires_at"]), "key expired"
    Ed25519PublicKey.from_public_bytes(base64.b64decode(key["public_key"])).verify(
        base64.urlsafe_b64decode(sig[4:] + "=="), b"cascade-evidence-v1\n" + manifest)  # raises InvalidSignature
    m = json.loads(manifest)
    for f in m["files"]:
        data = open(os.path.join(dir, f["name"]), "rb").read()
        assert len(data) == f["size"] and hashlib.sha256(data).hexdigest() == f["sha256"], f["name"] + " was changed"
    assert sorted(os.listdir(dir)) == sorted([f["name"] for f in m["files"]] + ["manifest.json", "manifest.sig"]), "files added or missing"
    return m

if __name__ == "__main__":
    m = verify_evidence(sys.argv[1], json.load(open(sys.argv[2])))
    print("OK", m["scope"]["kind"], m["scope"]["id"], m["exported_at"])
