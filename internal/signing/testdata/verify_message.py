# Verifies Cascade messages as docs/security.md describes (v1 and v2),
# for TestBatchSignatureInPython: reads {"keys": {...}, "messages": [...]}
# and prints "ok" or "BAD" per message.
import base64, hashlib, json, sys
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

def b64(s):
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))

def verify(keys, subject, headers, body):
    f = headers["Cascade-Signature"].split(";")
    fields = dict(x.split("=", 1) for x in f[1:])
    key = next(k for k in keys["keys"] if k["key_id"] == fields["kid"])  # and reject it if past expires_at
    public = Ed25519PublicKey.from_public_bytes(base64.b64decode(key["public_key"]))
    signed = "\n".join(["cascade-signature-v1", subject, headers["Cascade-Notice-Id"], headers["Cascade-Event"], ""]).encode() + body
    if f[0] == "v1":
        public.verify(b64(fields["sig"]), signed)
        return
    assert f[0] == "v2"
    h = hashlib.sha256(b"\x00" + signed).digest()
    i, n = int(fields["i"]), int(fields["n"])
    proof = [b64(p) for p in fields["proof"].split(".")] if fields["proof"] else []
    while n > 1:
        if i % 2 == 1:
            h = hashlib.sha256(b"\x01" + proof.pop(0) + h).digest()
        elif i + 1 < n:
            h = hashlib.sha256(b"\x01" + h + proof.pop(0)).digest()
        i, n = i // 2, (n + 1) // 2
    assert not proof
    public.verify(b64(fields["sig"]), b"cascade-signature-v2\n" + fields["n"].encode() + b"\n" + h)

doc = json.load(open(sys.argv[1]))
out = []
for m in doc["messages"]:
    try:
        verify(doc["keys"], m["subject"], m["headers"], base64.b64decode(m["data"]))
        out.append("ok")
    except Exception:
        out.append("BAD")
print(" ".join(out))
