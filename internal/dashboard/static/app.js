// Cascade dashboard: plain JavaScript, no build step.
//
// Every call goes to /api/ with the token from the sign-in form, kept in
// this tab's sessionStorage only, as "Authorization: Bearer <token>"; the
// server passes it on to the gRPC API, which decides what the caller may
// see and do. Live views read server-sent events through fetch(), since
// EventSource cannot send that header. Tokens never go into a URL.
'use strict';

(() => {
  const STRINGS = {
    en: {
      skip: 'Skip to content', loading: 'Loading…', signOut: 'Sign out', switchTo: 'Svenska', switchLang: 'sv',
      signInTitle: 'Sign in', token: 'Access token', signIn: 'Sign in',
      signInHelp: 'Paste the token you were given (cascadectl tokens issue). It stays in this browser tab only and is forgotten when the tab closes.',
      tokenRejected: 'The token was not accepted: it is wrong or has been revoked.',
      vendorView: 'Vendor view: every organisation', devView: 'Development mode: authentication is off',
      orgView: 'Organisation view', viewerView: 'read only',
      breaches: 'Breaches', noBreaches: 'No breaches yet. A new one appears here as soon as it is reported.',
      received: 'received', notices: '{0} notices', live: 'Live', reconnecting: 'Reconnecting…',
      progress: 'Progress', delivered: 'Delivered', acknowledged: 'Acknowledged', resolved: 'Resolved', overdue: 'Overdue', overdueOne: 'Overdue',
      nextDeadline: 'Next deadline', latestRevision: 'Revision {0}: acknowledged by {1} of {2}',
      byTimeLeft: 'Organisations by time left', filter: 'Filter organisations', showing: 'Showing {0} of {1}. Filter to find the others.',
      left: '{0} left', overdueBy: 'overdue by {0}', notDelivered: 'not delivered yet', done: 'resolved',
      deadline: 'Deadline', deliveredAt: 'Delivered', history: 'History', allBreaches: '← All breaches', back: '← Back',
      yourNotices: 'Your notices', noNotices: 'Your organisation has no notices.',
      ackBy: 'Your name or e-mail', ackNote: 'Note (optional)', ackButton: 'Acknowledge', ackRevision: 'Acknowledge revision {0}',
      acked: 'Acknowledged by {0}, {1}', ackDone: 'Notice acknowledged. The deadline still runs.',
      ackHelp: 'Acknowledging stops redelivery. It does not stop the 72-hour clock.',
      revision: 'Revision {0}', notice: 'Notice', organisation: 'Organisation', state: 'State',
      deliveries: 'Deliveries', approxSubjects: 'Data subjects (approx.)', resolvedAt: 'Resolved', outcome: 'Outcome',
      noHistory: 'No events yet.', by: 'by {0}', as: 'authenticated as {0}', truncated: 'Only the first part is shown.',
      unknownOrgs: 'Not in the registry, so not notified: {0}',
      notFound: 'Not found, or not yours to see.', forbidden: 'Your token may not see this.', failed: 'Something went wrong: {0}',
      state_NOTICE_STATE_PENDING: 'Pending', state_NOTICE_STATE_DELIVERED: 'Delivered',
      state_NOTICE_STATE_ACKNOWLEDGED: 'Acknowledged', state_NOTICE_STATE_RESOLVED: 'Resolved',
      outcome_OUTCOME_KIND_REPORTED_TO_AUTHORITY: 'Reported to the authority', outcome_OUTCOME_KIND_NOT_REPORTABLE: 'Not reportable',
      ev_created: 'Created', ev_delivered: 'Delivered', ev_redelivered: 'Delivered again', ev_revision_delivered: 'Revision delivered',
      ev_reminded: 'Reminder sent', ev_overdue: 'Overdue', ev_acknowledged: 'Acknowledged', ev_revision_acknowledged: 'Revision acknowledged',
      ev_outcome_recorded: 'Outcome recorded', ev_subject_communication_recorded: 'Data subject communication recorded',
      // check page (#/verify)
      verifyNav: 'Check a message', verifyFromSignIn: 'Received a message from Cascade? Check that it is genuine (no sign-in needed) →',
      verifyTitle: 'Check a message',
      verifyHelp: 'Drop the file you received: the cascade-message.json attached to Cascade\'s e-mail (or the whole e-mail), a webhook request saved with its headers, or a message saved with nats stream get --json or nats sub --dump. The check uses Cascade\'s public keys; nothing is stored.',
      verifyDrop: 'Drop the file here, or choose it', verifyPaste: 'Or paste the message', verifyButton: 'Check',
      verifyChecking: 'Checking…', verifyTooBig: 'The file is larger than 1 MiB: give the attachment cascade-message.json or the message alone.',
      verifyEmpty: 'Drop a file or paste a message first.',
      genuine: 'Genuine: signed by Cascade', notGenuine: 'NOT genuine',
      vr_unsupported_format: 'This is not a message Cascade can read.', vr_no_signature: 'The message carries no Cascade signature.',
      vr_malformed: 'The signature is damaged.', vr_unknown_key: 'It was signed with a key that is not Cascade\'s: forged.',
      vr_key_expired: 'It was signed with a key Cascade no longer uses.', vr_tampered: 'The message was changed after Cascade signed it.',
      va_unsupported_format: 'Give the cascade-message.json attached to the e-mail, the whole e-mail, a webhook request saved with its headers, or a message saved with the nats CLI.',
      va_no_signature: 'Cascade signs every message. If you saved it without its headers, save it again with them. Otherwise do not act on it: call the processor on a number you know from your contract, never one from the message.',
      va_malformed: 'Do not act on it. Call the processor on a number you know from your contract, never one from the message.',
      va_unknown_key: 'Do not act on it. Call the processor on a number you know from your contract, never one from the message.',
      va_key_expired: 'It can no longer be checked. Look the notice up here in Cascade before you act.',
      va_tampered: 'Do not act on it. Call the processor on a number you know from your contract, never one from the message.',
      claimed: 'What the message says', held: 'What Cascade holds', claimedNote: 'Trust these only because the signature checks out.',
      unverifiedNote: 'Not confirmed by a signature: do not trust these.',
      event: 'Event', keyId: 'Signing key', keyRetired: 'replaced, valid until {0}', sentAt: 'Sent', title: 'Title',
      fn_sign_in: 'Sign in to see the notice as Cascade holds it.', fn_not_yours: 'Your sign-in may not see this notice: it was sent to another organisation ({0}). Check that the organisation is yours.',
      fn_no_notice: 'This message is about no notice.', fn_unavailable: 'Cascade could not be asked right now; try again.',
      fn_not_verified: 'Facts are shown only for a genuine message.', openNotice: 'Open the notice',
    },
    sv: {
      skip: 'Hoppa till innehållet', loading: 'Laddar…', signOut: 'Logga ut', switchTo: 'English', switchLang: 'en',
      signInTitle: 'Logga in', token: 'Åtkomsttoken', signIn: 'Logga in',
      signInHelp: 'Klistra in den token du har fått (cascadectl tokens issue). Den sparas bara i den här fliken och glöms när fliken stängs.',
      tokenRejected: 'Token godtogs inte: den är fel eller har återkallats.',
      vendorView: 'Leverantörsvy: alla organisationer', devView: 'Utvecklingsläge: inloggning är avstängd',
      orgView: 'Organisationsvy', viewerView: 'endast läsning',
      breaches: 'Incidenter', noBreaches: 'Inga incidenter ännu. En ny visas här så snart den rapporteras.',
      received: 'mottagen', notices: '{0} underrättelser', live: 'Live', reconnecting: 'Ansluter igen…',
      progress: 'Förlopp', delivered: 'Levererade', acknowledged: 'Kvitterade', resolved: 'Avslutade', overdue: 'Försenade', overdueOne: 'Försenad',
      nextDeadline: 'Nästa tidsfrist', latestRevision: 'Revision {0}: kvitterad av {1} av {2}',
      byTimeLeft: 'Organisationer efter återstående tid', filter: 'Filtrera organisationer', showing: 'Visar {0} av {1}. Filtrera för att hitta de andra.',
      left: '{0} kvar', overdueBy: 'försenad {0}', notDelivered: 'inte levererad än', done: 'avslutad',
      deadline: 'Tidsfrist', deliveredAt: 'Levererad', history: 'Historik', allBreaches: '← Alla incidenter', back: '← Tillbaka',
      yourNotices: 'Era underrättelser', noNotices: 'Er organisation har inga underrättelser.',
      ackBy: 'Ditt namn eller e-post', ackNote: 'Anteckning (frivillig)', ackButton: 'Kvittera', ackRevision: 'Kvittera revision {0}',
      acked: 'Kvitterad av {0}, {1}', ackDone: 'Underrättelsen är kvitterad. Tidsfristen löper vidare.',
      ackHelp: 'Kvittering stoppar nya leveranser. Den stoppar inte 72-timmarsfristen.',
      revision: 'Revision {0}', notice: 'Underrättelse', organisation: 'Organisation', state: 'Status',
      deliveries: 'Leveranser', approxSubjects: 'Registrerade (ungefär)', resolvedAt: 'Avslutad', outcome: 'Utfall',
      noHistory: 'Inga händelser än.', by: 'av {0}', as: 'autentiserad som {0}', truncated: 'Bara den första delen visas.',
      unknownOrgs: 'Finns inte i registret och har inte underrättats: {0}',
      notFound: 'Finns inte, eller är inte er att se.', forbidden: 'Er token får inte se detta.', failed: 'Något gick fel: {0}',
      state_NOTICE_STATE_PENDING: 'Väntar', state_NOTICE_STATE_DELIVERED: 'Levererad',
      state_NOTICE_STATE_ACKNOWLEDGED: 'Kvitterad', state_NOTICE_STATE_RESOLVED: 'Avslutad',
      outcome_OUTCOME_KIND_REPORTED_TO_AUTHORITY: 'Anmäld till tillsynsmyndigheten', outcome_OUTCOME_KIND_NOT_REPORTABLE: 'Inte anmälningspliktig',
      ev_created: 'Skapad', ev_delivered: 'Levererad', ev_redelivered: 'Levererad igen', ev_revision_delivered: 'Revision levererad',
      ev_reminded: 'Påminnelse skickad', ev_overdue: 'Försenad', ev_acknowledged: 'Kvitterad', ev_revision_acknowledged: 'Revision kvitterad',
      ev_outcome_recorded: 'Utfall registrerat', ev_subject_communication_recorded: 'Information till registrerade registrerad',
      // check page (#/verify)
      verifyNav: 'Kontrollera ett meddelande', verifyFromSignIn: 'Fått ett meddelande från Cascade? Kontrollera att det är äkta (ingen inloggning behövs) →',
      verifyTitle: 'Kontrollera ett meddelande',
      verifyHelp: 'Släpp filen du fick: cascade-message.json som bifogas Cascades e-post (eller hela e-postmeddelandet), en webhook-begäran sparad med sina rubriker, eller ett meddelande sparat med nats stream get --json eller nats sub --dump. Kontrollen använder Cascades publika nycklar; inget sparas.',
      verifyDrop: 'Släpp filen här, eller välj den', verifyPaste: 'Eller klistra in meddelandet', verifyButton: 'Kontrollera',
      verifyChecking: 'Kontrollerar…', verifyTooBig: 'Filen är större än 1 MiB: ge bilagan cascade-message.json eller bara meddelandet.',
      verifyEmpty: 'Släpp en fil eller klistra in ett meddelande först.',
      genuine: 'Äkta: signerat av Cascade', notGenuine: 'INTE äkta',
      vr_unsupported_format: 'Det här är inget meddelande som Cascade kan läsa.', vr_no_signature: 'Meddelandet saknar Cascades signatur.',
      vr_malformed: 'Signaturen är skadad.', vr_unknown_key: 'Det är signerat med en nyckel som inte är Cascades: förfalskat.',
      vr_key_expired: 'Det är signerat med en nyckel som Cascade inte längre använder.', vr_tampered: 'Meddelandet har ändrats efter att Cascade signerade det.',
      va_unsupported_format: 'Ge cascade-message.json som bifogas e-posten, hela e-postmeddelandet, en webhook-begäran sparad med sina rubriker, eller ett meddelande sparat med nats-verktyget.',
      va_no_signature: 'Cascade signerar varje meddelande. Om du sparade det utan rubrikerna, spara det igen med dem. Annars: agera inte på det, utan ring personuppgiftsbiträdet på ett nummer du känner till från avtalet, aldrig ett från meddelandet.',
      va_malformed: 'Agera inte på det. Ring personuppgiftsbiträdet på ett nummer du känner till från avtalet, aldrig ett från meddelandet.',
      va_unknown_key: 'Agera inte på det. Ring personuppgiftsbiträdet på ett nummer du känner till från avtalet, aldrig ett från meddelandet.',
      va_key_expired: 'Det går inte längre att kontrollera. Slå upp underrättelsen här i Cascade innan du agerar.',
      va_tampered: 'Agera inte på det. Ring personuppgiftsbiträdet på ett nummer du känner till från avtalet, aldrig ett från meddelandet.',
      claimed: 'Vad meddelandet säger', held: 'Vad Cascade har', claimedNote: 'Lita på detta bara för att signaturen stämmer.',
      unverifiedNote: 'Inte bekräftat av en signatur: lita inte på detta.',
      event: 'Händelse', keyId: 'Signeringsnyckel', keyRetired: 'ersatt, giltig till {0}', sentAt: 'Skickat', title: 'Rubrik',
      fn_sign_in: 'Logga in för att se underrättelsen som Cascade har den.', fn_not_yours: 'Din inloggning får inte se den här underrättelsen: den skickades till en annan organisation ({0}). Kontrollera att organisationen är er.',
      fn_no_notice: 'Meddelandet gäller ingen underrättelse.', fn_unavailable: 'Cascade kunde inte nås just nu; försök igen.',
      fn_not_verified: 'Uppgifter visas bara för ett äkta meddelande.', openNotice: 'Öppna underrättelsen',
    },
  };

  const $ = (sel, root = document) => root.querySelector(sel);
  const store = { token: 'cascade.token', lang: 'cascade.lang', ackBy: 'cascade.ackBy' };

  let lang = pickLanguage();
  let session = null; // from /api/session
  let clockOffset = 0; // server time - local time, for the countdowns
  let viewAbort = null; // ends the current view's streams
  let rerender = null; // redraws the current view (after a language change)
  let onTick = null; // the current view's work each second

  function pickLanguage() {
    const saved = localStorage.getItem(store.lang);
    if (saved === 'sv' || saved === 'en') return saved;
    for (const l of navigator.languages || [navigator.language || 'en']) {
      const p = l.slice(0, 2).toLowerCase();
      if (p === 'sv' || p === 'en') return p;
    }
    return 'en';
  }

  function t(key, ...args) {
    const s = STRINGS[lang][key] ?? STRINGS.en[key] ?? key;
    return s.replace(/\{(\d)\}/g, (_, i) => String(args[Number(i)] ?? ''));
  }

  // h builds an element; text is always set as text, never as HTML.
  function h(tag, attrs, ...children) {
    const el = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v == null || v === false) continue;
      if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
      else if (k === 'class') el.className = v;
      else if (k === 'value') el.value = v;
      else el.setAttribute(k, v === true ? '' : String(v));
    }
    for (const c of children.flat(Infinity)) {
      if (c == null || c === false) continue;
      el.append(c instanceof Node ? c : document.createTextNode(String(c)));
    }
    return el;
  }

  const num = (v) => new Intl.NumberFormat(lang).format(Number(v || 0));
  const enc = encodeURIComponent;
  const now = () => Date.now() + clockOffset;

  function fmtTime(ts, seconds) {
    if (!ts) return '';
    return new Intl.DateTimeFormat(lang === 'sv' ? 'sv-SE' : 'en-GB',
      { dateStyle: 'medium', timeStyle: seconds ? 'medium' : 'short' }).format(new Date(ts));
  }

  function fmtDuration(ms) {
    const s = Math.floor(Math.abs(ms) / 1000);
    const d = Math.floor(s / 86400);
    const pad = (n) => String(n).padStart(2, '0');
    const hms = `${pad(Math.floor((s % 86400) / 3600))}:${pad(Math.floor((s % 3600) / 60))}:${pad(s % 60)}`;
    return d ? `${d} d ${hms}` : hms;
  }

  // ---- talking to the server ----

  class APIError extends Error {
    constructor(status, body) {
      super(body?.message || `HTTP ${status}`);
      this.status = status;
      this.code = body?.code || '';
    }
  }

  function headers(extra) {
    const hd = { Accept: 'application/json', ...extra };
    const tok = sessionStorage.getItem(store.token);
    if (tok) hd.Authorization = 'Bearer ' + tok;
    return hd;
  }

  async function errorOf(res) {
    let body = null;
    try { body = await res.json(); } catch { /* not JSON */ }
    return new APIError(res.status, body);
  }

  async function api(path, opts = {}) {
    const res = await fetch(path, { ...opts, headers: headers(opts.body ? { 'Content-Type': 'application/json' } : {}), cache: 'no-store' });
    if (!res.ok) throw await errorOf(res);
    return res.json();
  }

  const sleep = (ms, signal) => new Promise((resolve) => {
    const id = setTimeout(resolve, ms);
    signal.addEventListener('abort', () => { clearTimeout(id); resolve(); }, { once: true });
  });

  // stream reads server-sent events from path and calls on[event](data);
  // it reconnects after transient failures until signal aborts. on.live
  // is told whether the stream is connected; on.fail gets a final error.
  async function stream(path, on, signal) {
    let delay = 1000;
    const retry = async () => {
      on.live?.(false);
      await sleep(delay, signal);
      delay = Math.min(delay * 2, 15000);
    };
    while (!signal.aborted) {
      let res;
      try {
        res = await fetch(path, { headers: headers({ Accept: 'text/event-stream' }), signal, cache: 'no-store' });
      } catch {
        if (!signal.aborted) await retry();
        continue;
      }
      if (!res.ok) {
        const err = await errorOf(res);
        if (res.status === 503 || res.status === 504) { await retry(); continue; }
        return fail(err, on);
      }
      delay = 1000;
      on.live?.(true);
      const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
      let buf = '';
      try {
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          buf += value;
          let i;
          while ((i = buf.indexOf('\n\n')) >= 0) {
            const block = buf.slice(0, i);
            buf = buf.slice(i + 2);
            const ev = parseEvent(block);
            if (!ev) continue;
            if (ev.event === 'clock') {
              clockOffset = Date.parse(ev.data.server_time) - Date.now();
            } else if (ev.event === 'error') {
              const err = new APIError(0, ev.data);
              if (err.code !== 'UNAVAILABLE' && err.code !== 'DEADLINE_EXCEEDED') return fail(err, on);
              on.live?.(false);
            } else {
              on.live?.(true);
              on[ev.event]?.(ev.data);
            }
          }
        }
      } catch {
        // the connection broke: reconnect below
      }
      if (!signal.aborted) await retry();
    }
  }

  function parseEvent(block) {
    let event = 'message';
    const data = [];
    for (const line of block.split('\n')) {
      if (line === '' || line.startsWith(':')) continue;
      const c = line.indexOf(':');
      const field = c < 0 ? line : line.slice(0, c);
      let value = c < 0 ? '' : line.slice(c + 1);
      if (value.startsWith(' ')) value = value.slice(1);
      if (field === 'event') event = value;
      else if (field === 'data') data.push(value);
    }
    if (!data.length) return null;
    return { event, data: JSON.parse(data.join('\n')) };
  }

  function fail(err, on) {
    on.live?.(false);
    if (err.code === 'UNAUTHENTICATED' || err.status === 401) return signOut(t('tokenRejected'));
    on.fail ? on.fail(err) : showError(err);
  }

  // ---- page frame ----

  function setStatus(msg) {
    $('#status').textContent = msg || '';
  }

  function showError(err) {
    const msg = err.code === 'NOT_FOUND' ? t('notFound') : err.code === 'PERMISSION_DENIED' ? t('forbidden') : t('failed', err.message);
    const main = $('#main');
    main.replaceChildren(h('p', { class: 'error', role: 'alert' }, msg), h('p', {}, h('a', { href: '#/' }, t('back'))));
  }

  function applyLanguage() {
    document.documentElement.lang = lang;
    for (const el of document.querySelectorAll('[data-i18n]')) el.textContent = t(el.dataset.i18n);
    const btn = $('#lang');
    btn.textContent = t('switchTo');
    btn.lang = t('switchLang');
    updateWho();
  }

  function updateWho(orgName) {
    const who = $('#who');
    if (!session) { who.textContent = ''; return; }
    if (orgName) who.dataset.org = orgName;
    if (session.scope === 'all') who.textContent = session.auth ? t('vendorView') : t('devView');
    else who.textContent = [t('orgView'), who.dataset.org, session.acknowledge ? '' : t('viewerView')].filter(Boolean).join(' · ');
    $('#signout').hidden = !session.auth;
  }

  function liveBadge() {
    return h('span', { class: 'live', 'data-live': 'false' }, t('reconnecting'));
  }

  function setLive(el, on) {
    if (!el) return;
    el.dataset.live = String(on);
    el.textContent = on ? t('live') : t('reconnecting');
  }

  function signOut(message) {
    sessionStorage.removeItem(store.token);
    session = null;
    updateWho();
    viewAbort?.abort();
    viewSignIn(message);
  }

  // ---- countdowns ----

  // remaining is the time to a notice's deadline (negative: overdue), or
  // null when it has none or no longer matters.
  function remaining(n) {
    if (!n.deadline || n.state === 'NOTICE_STATE_RESOLVED') return null;
    return Date.parse(n.deadline) - now();
  }

  function countdownText(n) {
    if (n.state === 'NOTICE_STATE_RESOLVED') return t('done');
    const r = remaining(n);
    if (r == null) return t('notDelivered');
    return r < 0 ? t('overdueBy', fmtDuration(r)) : t('left', fmtDuration(r));
  }

  function countdown(n) {
    return h('span', { class: 'countdown', 'data-deadline': n.deadline || '', 'data-state': n.state }, countdownText(n));
  }

  function tick() {
    for (const el of document.querySelectorAll('.countdown[data-deadline]')) {
      const n = { deadline: el.dataset.deadline, state: el.dataset.state };
      el.textContent = countdownText(n);
      const r = remaining(n);
      el.closest('.notice-row, .card')?.classList.toggle('late', r != null && r < 0);
    }
    onTick?.();
  }

  // byTimeLeft: overdue first (the longest overdue first), then by
  // deadline, then the undelivered, then the resolved.
  function byTimeLeft(a, b) {
    const rank = (n) => (n.state === 'NOTICE_STATE_RESOLVED' ? 3 : !n.deadline ? 2 : remaining(n) < 0 ? 0 : 1);
    const at = (n) => (n.deadline ? Date.parse(n.deadline) : 0);
    return rank(a) - rank(b) || at(a) - at(b) ||
      (a.org_name || a.org_id).localeCompare(b.org_name || b.org_id, lang);
  }

  function isLate(n) {
    const r = remaining(n);
    return n.overdue || (r != null && r < 0);
  }

  function stateBadge(n) {
    return h('span', { class: 'badges' },
      h('span', { class: 'badge state ' + n.state.replace('NOTICE_STATE_', '').toLowerCase() }, t('state_' + n.state)),
      isLate(n) ? h('span', { class: 'badge overdue' }, t('overdueOne')) : null);
  }

  // reconcile keeps list's children in the order of items, reusing the
  // element of an item whose key and look did not change, so a focused
  // input or a half-typed acknowledgement survives an update.
  function reconcile(list, items, key, look, make) {
    const old = new Map([...list.children].map((el) => [el.dataset.key, el]));
    items.forEach((item, i) => {
      const k = key(item);
      const sig = look(item);
      let el = old.get(k);
      if (!el || el.dataset.sig !== sig) {
        const fresh = make(item);
        fresh.dataset.key = k;
        fresh.dataset.sig = sig;
        if (el) {
          for (const input of el.querySelectorAll('input[name]')) {
            const twin = fresh.querySelector(`input[name="${input.name}"]`);
            if (twin && input.value) twin.value = input.value;
          }
          el.replaceWith(fresh);
        }
        el = fresh;
      }
      old.delete(k);
      if (list.children[i] !== el) list.insertBefore(el, list.children[i] || null);
    });
    for (const el of old.values()) el.remove();
  }

  const signature = (n) => JSON.stringify(n) + lang + (isLate(n) ? 'late' : '');

  // ---- views ----

  function mainView(...children) {
    const main = $('#main');
    main.replaceChildren(...children);
    return main;
  }

  function viewSignIn(message) {
    rerender = () => viewSignIn(message);
    const input = h('input', { id: 'token', name: 'token', type: 'password', autocomplete: 'off', spellcheck: 'false', required: true });
    const err = h('p', { class: 'error', role: 'alert', id: 'signin-error' }, message || '');
    const form = h('form', { class: 'card signin', id: 'signin', novalidate: true },
      h('h1', {}, t('signInTitle')),
      h('p', { class: 'muted', id: 'signin-help' }, t('signInHelp')),
      h('label', { for: 'token' }, t('token')),
      input,
      h('button', { type: 'submit' }, t('signIn')),
      err,
      h('p', { class: 'verify-link' }, h('a', { href: '#/verify', id: 'signin-verify' }, t('verifyFromSignIn'))));
    input.setAttribute('aria-describedby', 'signin-help signin-error');
    form.addEventListener('submit', async (e) => {
      e.preventDefault();
      const tok = input.value.trim();
      if (!tok) { input.focus(); return; }
      sessionStorage.setItem(store.token, tok);
      input.value = '';
      await start();
    });
    mainView(form);
    input.focus();
  }

  function breachCard(b, s) {
    const title = b.report?.title || b.id;
    const meta = [b.id, b.report?.processor, `${t('received')} ${fmtTime(b.received_at)}`].filter(Boolean).join(' · ');
    let progress = null;
    if (s) {
      const total = Number(s.total || 0);
      const overdue = Number(s.overdue || 0);
      progress = h('div', { class: 'mini' },
        meter('acknowledged', Number(s.acknowledged || 0), total, 'mini-' + b.id),
        overdue ? h('span', { class: 'badge overdue' }, `${t('overdue')}: ${num(overdue)}`) : null);
    } else if (Number(b.notice_count || 0)) {
      progress = h('p', { class: 'meta' }, t('notices', num(b.notice_count)));
    }
    return h('li', { class: 'card breach' + (s && Number(s.overdue || 0) ? ' late' : ''), 'data-breach-id': b.id },
      h('h2', {}, h('a', { href: '#/breach/' + enc(b.id) }, title)),
      h('p', { class: 'meta' }, meta),
      progress);
  }

  function meter(key, value, total, idPrefix) {
    const id = `${idPrefix || 'm'}-${key}`;
    return h('div', { class: 'meter ' + key, 'data-meter': key },
      h('span', { class: 'meter-label', id }, t(key)),
      h('progress', { max: Math.max(total, 1), value, 'aria-labelledby': id }),
      h('span', { class: 'meter-value' }, `${num(value)} / ${num(total)}`));
  }

  function viewBreachList(signal) {
    let data = null;
    const live = liveBadge();
    const list = h('ul', { class: 'cards', id: 'breach-list' });
    const note = h('p', { class: 'muted' }, t('loading'));
    mainView(h('div', { class: 'head' }, h('h1', {}, t('breaches')), live), note, list);
    const render = () => {
      if (!data) return;
      const sums = new Map((data.summaries || []).map((s) => [s.breach_id, s]));
      note.textContent = data.breaches.length ? (data.truncated ? t('truncated') : '') : t('noBreaches');
      reconcile(list, data.breaches, (b) => b.id, (b) => JSON.stringify([b, sums.get(b.id)]) + lang, (b) => breachCard(b, sums.get(b.id)));
    };
    rerender = () => { $('h1', $('#main')).textContent = t('breaches'); setLive(live, live.dataset.live === 'true'); render(); };
    stream('/api/events/breaches?summaries=1', { breaches: (d) => { data = d; render(); }, live: (on) => setLive(live, on) }, signal);
  }

  function noticeRow(n) {
    return h('li', { class: 'notice-row' + (isLate(n) ? ' late' : ''), 'data-org-id': n.org_id, 'data-state': n.state },
      h('div', { class: 'who-col' },
        h('a', { class: 'org-name', href: `#/notice/${enc(n.breach_id)}/${enc(n.org_id)}` }, n.org_name || n.org_id),
        h('span', { class: 'org-id' }, n.org_id)),
      stateBadge(n),
      h('div', { class: 'time-col' },
        countdown(n),
        n.deadline ? h('span', { class: 'deadline' }, `${t('deadline')} ${fmtTime(n.deadline)}`) : null));
  }

  function viewBreach(id, signal) {
    const notices = new Map();
    let breach = null;
    let summary = null;
    let caughtUp = false;
    const live = liveBadge();
    const title = h('h1', { id: 'breach-title' }, id);
    const meta = h('p', { class: 'meta' });
    const warn = h('p', { class: 'warn', id: 'unknown-orgs' });
    const bars = h('div', { class: 'bars', id: 'progress' });
    const extra = h('p', { class: 'meta', id: 'progress-extra' });
    const filter = h('input', { id: 'org-filter', name: 'filter', type: 'search', autocomplete: 'off' });
    const filterLabel = h('label', { for: 'org-filter' }, t('filter'));
    const count = h('p', { class: 'muted', id: 'org-count' });
    const list = h('ol', { class: 'notices', id: 'org-list' });
    const orgsHead = h('h2', { id: 'orgs-head' }, t('byTimeLeft'));
    mainView(
      h('p', {}, h('a', { href: '#/' }, t('allBreaches'))),
      h('div', { class: 'head' }, title, live),
      meta, warn,
      h('section', { 'aria-labelledby': 'progress-head', class: 'panel' }, h('h2', { id: 'progress-head' }, t('progress')), bars, extra),
      h('section', { 'aria-labelledby': 'orgs-head', class: 'panel' }, orgsHead, h('div', { class: 'filter' }, filterLabel, filter), count, list));

    const renderHead = () => {
      if (!breach) return;
      title.textContent = breach.report?.title || breach.id;
      meta.textContent = [breach.id, breach.report?.processor, `${t('received')} ${fmtTime(breach.received_at)}`,
        t('revision', breach.latest_revision || 1)].filter(Boolean).join(' · ');
      const unknown = [...(breach.unknown_org_ids || []), ...(breach.revisions || []).flatMap((r) => r.unknown_org_ids || [])];
      warn.textContent = unknown.length ? t('unknownOrgs', unknown.join(', ')) : '';
    };
    // Once every notice is here, overdue and the next deadline are counted
    // in the page, so they follow the clock; before, the summary's count.
    const clientSide = () => {
      let late = 0;
      let next = null;
      for (const n of notices.values()) {
        const r = remaining(n);
        if (r == null) continue;
        if (r < 0) late++;
        else if (!next || Date.parse(n.deadline) < Date.parse(next)) next = n.deadline;
      }
      return { late, next };
    };
    let shown = '';
    const renderSummary = () => {
      if (!summary) return;
      const total = Number(summary.total || 0);
      const own = caughtUp && notices.size === total ? clientSide() : { late: Number(summary.overdue || 0), next: summary.next_deadline };
      shown = JSON.stringify([summary, own, lang]);
      const values = { ...summary, overdue: own.late };
      bars.replaceChildren(...['delivered', 'acknowledged', 'resolved', 'overdue'].map((k) => meter(k, Number(values[k] || 0), total)));
      const parts = [];
      if (own.next) {
        parts.push(h('span', {}, `${t('nextDeadline')}: `,
          countdown({ deadline: own.next, state: 'NOTICE_STATE_DELIVERED' }), ` (${fmtTime(own.next)})`));
      }
      if ((summary.latest_revision || 1) > 1) {
        parts.push(h('span', {}, ' · ' + t('latestRevision', summary.latest_revision, num(summary.acknowledged_latest), num(total))));
      }
      extra.replaceChildren(...parts);
    };
    let pending = false;
    const renderList = () => {
      pending = false;
      renderSummary();
      const q = filter.value.trim().toLowerCase();
      const all = [...notices.values()].sort(byTimeLeft);
      const shown = all.filter((n) => !q || (n.org_name || '').toLowerCase().includes(q) || n.org_id.includes(q));
      const max = 500;
      count.textContent = shown.length > max ? t('showing', num(max), num(shown.length)) : '';
      reconcile(list, shown.slice(0, max), (n) => n.org_id, signature, noticeRow);
    };
    const schedule = () => { if (!pending && caughtUp) { pending = true; requestAnimationFrame(renderList); } };
    filter.addEventListener('input', renderList);
    // Each second: a notice that just passed its deadline moves up and turns red.
    onTick = () => {
      if (!caughtUp || !summary) return;
      const own = clientSide();
      const total = Number(summary.total || 0);
      if (notices.size === total && shown !== JSON.stringify([summary, own, lang])) renderList();
    };
    rerender = () => {
      for (const [el, k] of [[orgsHead, 'byTimeLeft'], [filterLabel, 'filter'], [$('#progress-head'), 'progress']]) el.textContent = t(k);
      setLive(live, live.dataset.live === 'true');
      renderHead(); renderSummary(); renderList();
    };

    if (session.scope !== 'all') return viewOrgBreach(id, signal, { title, meta, list, live, setBreach: (b) => { breach = b; renderHead(); } });
    stream('/api/events/breaches/' + enc(id), {
      breach: (b) => { breach = b; caughtUp = false; notices.clear(); renderHead(); },
      summary: (s) => {
        if (breach && (s.latest_revision || 1) > (breach.latest_revision || 1)) api('/api/breaches/' + enc(id)).then((r) => { breach = r.breach; renderHead(); }, () => {});
        summary = s; renderSummary();
      },
      notice: (n) => { notices.set(n.org_id, n); schedule(); },
      caught_up: () => { caughtUp = true; schedule(); },
      live: (on) => setLive(live, on),
    }, signal);
  }

  // A controller sees the breach as redacted for it, and its own notice.
  function viewOrgBreach(id, signal, v) {
    const main = $('#main');
    main.replaceChildren(
      h('p', {}, h('a', { href: '#/' }, t('back'))),
      h('div', { class: 'head' }, v.title, v.live), v.meta,
      h('ul', { class: 'cards', id: 'notice-cards' }));
    api('/api/breaches/' + enc(id)).then((r) => v.setBreach(r.breach), (err) => fail(err, {}));
    const titles = new Map();
    orgNotices(signal, $('#notice-cards'), v.live, titles, id);
  }

  function canAck(n) {
    return session.acknowledge && (n.state === 'NOTICE_STATE_DELIVERED' || n.state === 'NOTICE_STATE_ACKNOWLEDGED') &&
      (n.revision_acknowledged || 0) < (n.revision_delivered || 0);
  }

  function ackForm(n, onDone) {
    const key = n.id.replace(/[^A-Za-z0-9_-]/g, '_');
    const by = h('input', { id: 'by-' + key, name: 'acknowledged_by', autocomplete: 'name', required: true, maxlength: 200,
      value: sessionStorage.getItem(store.ackBy) || '' });
    const note = h('input', { id: 'note-' + key, name: 'note', autocomplete: 'off', maxlength: 2000 });
    const err = h('p', { class: 'error', role: 'alert' });
    const rev = n.revision_delivered || 1;
    const button = h('button', { type: 'submit', class: 'ack' }, rev > 1 ? t('ackRevision', rev) : t('ackButton'));
    const form = h('form', { class: 'ack-form', 'data-notice-id': n.id },
      h('p', { class: 'muted small' }, t('ackHelp')),
      h('div', { class: 'fields' },
        h('div', {}, h('label', { for: by.id }, t('ackBy')), by),
        h('div', {}, h('label', { for: note.id }, t('ackNote')), note)),
      button, err);
    form.addEventListener('submit', async (e) => {
      e.preventDefault();
      if (!by.value.trim()) { by.focus(); return; }
      button.disabled = true;
      err.textContent = '';
      try {
        sessionStorage.setItem(store.ackBy, by.value.trim());
        const r = await api(`/api/notices/${enc(n.breach_id)}/${enc(n.org_id)}/acknowledge`, {
          method: 'POST', body: JSON.stringify({ acknowledged_by: by.value.trim(), note: note.value.trim(), revision: rev }),
        });
        setStatus(t('ackDone'));
        onDone(r.notice);
      } catch (ex) {
        if (ex.status === 401) return signOut(t('tokenRejected'));
        err.textContent = ex.message;
        button.disabled = false;
      }
    });
    return form;
  }

  function ackLine(n) {
    if (!n.acknowledged_at) return null;
    return h('p', { class: 'acked' }, t('acked', n.acknowledged_by, fmtTime(n.acknowledged_at)),
      n.revision_acknowledged ? ` · ${t('revision', n.revision_acknowledged)}` : '');
  }

  function noticeCard(n, breachTitle, onAck) {
    return h('li', { class: 'card notice' + (isLate(n) ? ' late' : ''), 'data-notice-id': n.id, 'data-state': n.state },
      h('h2', {}, h('a', { href: `#/notice/${enc(n.breach_id)}/${enc(n.org_id)}` }, breachTitle || n.breach_id)),
      h('p', { class: 'meta' }, [n.breach_id, n.org_name, t('revision', n.revision_delivered || 1),
        n.delivered_at ? `${t('deliveredAt')} ${fmtTime(n.delivered_at)}` : ''].filter(Boolean).join(' · ')),
      h('div', { class: 'row' }, stateBadge(n), countdown(n),
        n.deadline ? h('span', { class: 'deadline' }, `${t('deadline')} ${fmtTime(n.deadline)}`) : null),
      ackLine(n),
      canAck(n) ? ackForm(n, onAck) : null);
  }

  // orgNotices keeps list showing the caller's notices (of one breach, if
  // breachID is set), live, by time left.
  function orgNotices(signal, list, live, titles, breachID) {
    let notices = [];
    const empty = h('p', { class: 'empty', hidden: true }, t('noNotices'));
    list.after(empty);
    const render = () => {
      empty.hidden = notices.length > 0;
      notices.sort(byTimeLeft);
      const onAck = (updated) => { notices = notices.map((x) => (x.id === updated.id ? updated : x)); render(); };
      reconcile(list, notices, (n) => n.id, (n) => signature(n) + (titles.get(n.breach_id) || ''),
        (n) => noticeCard(n, titles.get(n.breach_id), onAck));
      if (notices[0]?.org_name) updateWho(notices[0].org_name);
    };
    const prev = rerender;
    rerender = () => { prev?.(); render(); };
    stream('/api/events/notices' + (breachID ? '?breach_id=' + enc(breachID) : ''), {
      notices: (d) => { notices = d.notices; render(); },
      live: (on) => setLive(live, on),
    }, signal);
    return render;
  }

  function viewOrgHome(signal) {
    const live = liveBadge();
    const list = h('ul', { class: 'cards', id: 'notice-cards' });
    const heading = h('h1', {}, t('yourNotices'));
    mainView(h('div', { class: 'head' }, heading, live), list);
    const titles = new Map();
    rerender = () => { heading.textContent = t('yourNotices'); };
    const render = orgNotices(signal, list, live, titles);
    // Breach titles for the cards (the list is redacted for the caller).
    stream('/api/events/breaches', {
      breaches: (d) => { for (const b of d.breaches) titles.set(b.id, b.report?.title || b.id); render(); },
    }, signal);
  }

  function viewNotice(breachID, orgID, signal) {
    const live = liveBadge();
    const title = h('h1', {}, orgID);
    const details = h('dl', { class: 'details' });
    const action = h('div', { id: 'notice-action' });
    const history = h('ol', { class: 'history', id: 'history' });
    const histHead = h('h2', { id: 'history-head' }, t('history'));
    const backTo = session.scope === 'all' ? '#/breach/' + enc(breachID) : '#/';
    mainView(h('p', {}, h('a', { href: backTo }, t('back'))), h('div', { class: 'head' }, title, live),
      h('section', { class: 'panel' }, details, action),
      h('section', { class: 'panel', 'aria-labelledby': 'history-head' }, histHead, history));
    let data = null;
    const render = () => {
      if (!data) return;
      const n = data.notice;
      title.textContent = `${n.org_name || n.org_id} · ${n.breach_id}`;
      const row = (k, ...v) => [h('dt', {}, t(k)), h('dd', {}, ...v)];
      details.replaceChildren(
        ...row('notice', n.id),
        ...row('organisation', `${n.org_name || ''} (${n.org_id})`),
        ...row('state', stateBadge(n)),
        ...row('deliveredAt', fmtTime(n.delivered_at) || t('notDelivered')),
        ...row('deadline', n.deadline ? fmtTime(n.deadline) : '—', ' ', countdown(n)),
        ...(n.acknowledged_at ? row('acknowledged', ackLine(n), n.acknowledgement_note ? h('q', {}, n.acknowledgement_note) : null) : []),
        ...row('deliveries', num(n.delivery_count)),
        ...(n.approx_subjects ? row('approxSubjects', num(n.approx_subjects)) : []),
        ...(n.resolved_at ? row('resolvedAt', fmtTime(n.resolved_at)) : []),
        ...(n.outcome?.kind ? row('outcome', t('outcome_' + n.outcome.kind)) : []));
      details.parentElement.classList.toggle('late', isLate(n));
      const keep = action.querySelector('input[name="note"]')?.value;
      action.replaceChildren(canAck(n) ? ackForm(n, (u) => { data = { ...data, notice: u }; render(); }) : '');
      if (keep) action.querySelector('input[name="note"]').value = keep;
      const events = data.events || [];
      history.replaceChildren(...(events.length ? events.map((e) => h('li', { 'data-event': e.event },
        h('time', { datetime: e.at }, fmtTime(e.at, true)),
        h('span', { class: 'event' }, t('ev_' + e.event)),
        e.actor && e.actor !== 'cascade' ? h('span', { class: 'actor' }, t('by', e.actor)) : null,
        e.principal?.display ? h('span', { class: 'principal' }, t('as', e.principal.display)) : null,
        e.detail ? h('span', { class: 'detail' }, e.detail) : null)) : [h('li', { class: 'muted' }, t('noHistory'))]));
    };
    rerender = () => { histHead.textContent = t('history'); render(); };
    stream(`/api/events/notices/${enc(breachID)}/${enc(orgID)}`, { notice: (d) => { data = d; render(); }, live: (on) => setLive(live, on) }, signal);
  }

  // ---- check a message (#/verify) ----
  // Works signed in or not: the signature check needs only Cascade's
  // public keys; the notice's facts come with the caller's own token.

  const verifyMax = 1 << 20;

  function viewVerify() {
    let input = null; // the dropped or chosen file, or null for the textarea
    const result = h('section', { id: 'verify-result', 'aria-live': 'polite' });
    const fileName = h('span', { class: 'verify-file', id: 'verify-file' });
    const file = h('input', { id: 'verify-input', type: 'file', class: 'verify-picker' });
    const paste = h('textarea', { id: 'verify-paste', rows: 6, spellcheck: 'false', autocomplete: 'off' });
    const err = h('p', { class: 'error', role: 'alert', id: 'verify-error' });
    const button = h('button', { type: 'submit', id: 'verify-button' }, t('verifyButton'));
    const zone = h('label', { class: 'verify-drop', for: 'verify-input', id: 'verify-drop' },
      h('span', { class: 'verify-drop-text' }, t('verifyDrop')), fileName, file);
    const choose = (f) => { input = f || null; fileName.textContent = f ? f.name : ''; if (f) paste.value = ''; };
    file.addEventListener('change', () => choose(file.files[0]));
    paste.addEventListener('input', () => { if (paste.value) { input = null; fileName.textContent = ''; file.value = ''; } });
    for (const ev of ['dragenter', 'dragover']) {
      zone.addEventListener(ev, (e) => { e.preventDefault(); zone.classList.add('over'); });
    }
    zone.addEventListener('dragleave', () => zone.classList.remove('over'));
    zone.addEventListener('drop', (e) => {
      e.preventDefault();
      zone.classList.remove('over');
      choose(e.dataTransfer.files[0]);
      if (input) form.requestSubmit();
    });
    const form = h('form', { class: 'card verify-form', id: 'verify-form', novalidate: true },
      h('p', { class: 'muted', id: 'verify-help' }, t('verifyHelp')),
      zone,
      h('label', { for: 'verify-paste' }, t('verifyPaste')), paste,
      button, err);
    form.addEventListener('submit', async (e) => {
      e.preventDefault();
      err.textContent = '';
      const body = input || paste.value;
      const size = input ? input.size : new Blob([paste.value]).size;
      if (!size || (!input && !paste.value.trim())) { err.textContent = t('verifyEmpty'); return; }
      if (size > verifyMax) { err.textContent = t('verifyTooBig'); return; }
      button.disabled = true;
      setStatus(t('verifyChecking'));
      try {
        const res = await fetch('/api/verify', { method: 'POST', body, cache: 'no-store',
          headers: headers({ 'Content-Type': 'application/octet-stream' }) });
        if (!res.ok) throw await errorOf(res);
        const v = await res.json();
        rerender = () => { redraw(); showVerdict(result, v); };
        showVerdict(result, v);
        setStatus(t(v.verified ? 'genuine' : 'notGenuine'));
        result.querySelector('.verdict')?.focus();
      } catch (ex) {
        err.textContent = ex.status === 413 ? t('verifyTooBig') : t('failed', ex.message);
        setStatus('');
      } finally {
        button.disabled = false;
      }
    });
    const heading = h('h1', {}, t('verifyTitle'));
    const redraw = () => {
      heading.textContent = t('verifyTitle');
      form.querySelector('#verify-help').textContent = t('verifyHelp');
      zone.querySelector('.verify-drop-text').textContent = t('verifyDrop');
      form.querySelector('label[for="verify-paste"]').textContent = t('verifyPaste');
      button.textContent = t('verifyButton');
    };
    rerender = redraw;
    mainView(...[session ? h('p', {}, h('a', { href: '#/' }, t('back'))) : null, heading, form, result].filter(Boolean));
  }

  // showVerdict draws the answer of /api/verify: the verdict, what the
  // message claims, and beside it what Cascade holds.
  function showVerdict(el, v) {
    const ok = v.verified;
    const row = (k, ...val) => (val.some((x) => x) ? [h('dt', {}, t(k)), h('dd', {}, ...val)] : []);
    const msg = v.message || {};
    const key = v.key_id ? [v.key_id, ok && v.key_expires_at ? ` (${t('keyRetired', fmtTime(v.key_expires_at))})` : ''] : [];
    const claimed = h('section', { class: 'panel verify-claimed', id: 'verify-claimed' },
      h('h2', {}, t('claimed')),
      h('p', { class: 'muted small' }, ok ? t('claimedNote') : t('unverifiedNote')),
      h('dl', { class: 'details' },
        ...row('organisation', [msg.org_name, v.org_id].filter(Boolean).join(' · ')),
        ...row('notice', v.notice_id),
        ...row('title', msg.title || msg.breach?.title),
        ...row('event', v.event),
        ...row('revision', msg.revision ? String(msg.revision) : ''),
        ...row('sentAt', fmtTime(msg.sent_at)),
        ...row('deadline', fmtTime(msg.deadline)),
        ...row('keyId', ...key)));
    let held;
    const n = v.notice?.notice;
    const b = v.breach?.breach;
    if (n) {
      held = h('section', { class: 'panel verify-held', id: 'verify-held' },
        h('h2', {}, t('held')),
        h('dl', { class: 'details' },
          ...row('organisation', `${n.org_name || ''} (${n.org_id})`),
          ...row('notice', n.id),
          ...row('title', b?.report?.title),
          ...row('state', stateBadge(n)),
          ...row('deliveredAt', fmtTime(n.delivered_at) || t('notDelivered')),
          ...row('deadline', n.deadline ? fmtTime(n.deadline) : '—', ' ', countdown(n)),
          ...row('revision', b?.latest_revision ? String(b.latest_revision) : ''),
          ...(n.acknowledged_at ? row('acknowledged', ackLine(n)) : [])),
        session ? h('p', {}, h('a', { href: `#/notice/${enc(n.breach_id)}/${enc(n.org_id)}` }, t('openNotice'))) : null);
    } else {
      held = h('section', { class: 'panel verify-held', id: 'verify-held' },
        h('h2', {}, t('held')),
        h('p', { class: 'muted', id: 'verify-facts-note' }, t('fn_' + (v.facts_note || 'unavailable'), v.org_id || '')),
        v.facts_note === 'sign_in' ? h('p', {}, h('a', { href: '#/' }, t('signIn'))) : null);
    }
    el.replaceChildren(
      h('div', { class: 'verdict ' + (ok ? 'genuine' : 'forged'), id: 'verdict', tabindex: '-1', 'data-verified': String(ok) },
        h('p', { class: 'verdict-head' }, ok ? '✔ ' + t('genuine') : '✘ ' + t('notGenuine')),
        ok ? null : h('p', { class: 'verdict-reason' }, t('vr_' + v.reason)),
        ok ? null : h('p', { class: 'verdict-advice' }, t('va_' + v.reason)),
        !ok && v.detail ? h('p', { class: 'muted small verdict-detail' }, v.detail) : null),
      h('div', { class: 'verify-columns' }, claimed, held));
  }

  // ---- routing ----

  function route() {
    viewAbort?.abort();
    viewAbort = new AbortController();
    const signal = viewAbort.signal;
    onTick = null;
    setStatus('');
    if (location.hash.startsWith('#/verify')) return viewVerify(signal);
    if (!session) return viewSignIn();
    const [kind, a, b] = location.hash.replace(/^#\/?/, '').split('/').map(decodeURIComponent);
    if (kind === 'breach' && a) return viewBreach(a, signal);
    if (kind === 'notice' && a && b) return viewNotice(a, b, signal);
    return session.scope === 'all' ? viewBreachList(signal) : viewOrgHome(signal);
  }

  async function start() {
    try {
      session = await api('/api/session');
      clockOffset = Date.parse(session.server_time) - Date.now();
      if (!session.scope) { // credentials needed
        session = null;
        updateWho();
        return route(); // the sign-in form, or the check page
      }
    } catch (err) {
      session = null;
      if (err.status === 401) {
        const had = sessionStorage.getItem(store.token);
        sessionStorage.removeItem(store.token);
        updateWho();
        return viewSignIn(had ? t('tokenRejected') : '');
      }
      updateWho();
      return showError(err);
    }
    updateWho();
    route();
  }

  document.addEventListener('DOMContentLoaded', () => {
    applyLanguage();
    $('#lang').addEventListener('click', () => {
      lang = lang === 'sv' ? 'en' : 'sv';
      localStorage.setItem(store.lang, lang);
      applyLanguage();
      rerender?.();
      tick();
    });
    $('#signout').addEventListener('click', () => signOut(''));
    window.addEventListener('hashchange', route);
    setInterval(tick, 1000);
    start();
  });
})();
