// mlcycle console: the only script the pages load (CSP: script-src 'self', nothing inline).
// Approvals are signed HERE, in the browser, with the approver's Ed25519 key (WebCrypto); the key
// never leaves the browser. The console server only relays the signed statement; the approval
// gate verifies it against the approver directory.
'use strict';

(function () {
  const STATEMENT_TYPE = 'mlcycle.approval/v1';
  const DB = 'mlcycle-console';
  const STORE = 'approver-keys';

  const csrf = () => (document.querySelector('meta[name="csrf-token"]') || {}).content || '';

  function openDb() {
    return new Promise((resolve, reject) => {
      const req = indexedDB.open(DB, 1);
      req.onupgradeneeded = () => req.result.createObjectStore(STORE);
      req.onsuccess = () => resolve(req.result);
      req.onerror = () => reject(req.error);
    });
  }
  async function storedKey(name) {
    const db = await openDb();
    return new Promise((resolve, reject) => {
      const req = db.transaction(STORE, 'readonly').objectStore(STORE).get(name);
      req.onsuccess = () => resolve(req.result);
      req.onerror = () => reject(req.error);
    });
  }
  async function storeKey(name, key) {
    const db = await openDb();
    return new Promise((resolve, reject) => {
      const tx = db.transaction(STORE, 'readwrite');
      tx.objectStore(STORE).put(key, name);
      tx.oncomplete = () => resolve();
      tx.onerror = () => reject(tx.error);
    });
  }

  /** PKCS#8 PEM (what `mlcycle approvers keygen` writes) → a non-extractable signing key. */
  async function importPem(text) {
    const m = /-----BEGIN PRIVATE KEY-----([\s\S]+?)-----END PRIVATE KEY-----/.exec(text);
    if (!m) throw new Error('the file is not a PKCS#8 PEM private key (BEGIN PRIVATE KEY), as `mlcycle approvers keygen` writes');
    const der = Uint8Array.from(atob(m[1].replace(/\s+/g, '')), (c) => c.charCodeAt(0));
    try {
      return await crypto.subtle.importKey('pkcs8', der, { name: 'Ed25519' }, false, ['sign']);
    } catch (err) {
      throw new Error('the file does not hold an Ed25519 private key this browser can import (' + (err && err.message ? err.message : err) + ')');
    }
  }

  /** The one serialization the gate verifies: fixed key order, no whitespace (src/approval/signed-vote.ts). */
  function canonicalStatement(s) {
    const o = { type: STATEMENT_TYPE, workflowId: s.workflowId, runId: s.runId, model: s.model, version: s.version, decision: s.decision, approver: s.approver };
    if (s.comment !== undefined) o.comment = s.comment;
    if (s.reason !== undefined) o.reason = s.reason;
    o.at = s.at;
    return JSON.stringify(o);
  }

  function base64(bytes) {
    let s = '';
    for (const b of bytes) s += String.fromCharCode(b);
    return btoa(s);
  }

  function show(form, text, kind) {
    const out = form.querySelector('.decision-result');
    out.textContent = text;
    out.className = 'decision-result ' + (kind || '');
  }

  async function refreshStoredHint(form) {
    const hint = form.querySelector('.stored-key');
    const name = form.elements.approver.value;
    try {
      const key = await storedKey(name);
      hint.hidden = !key;
      hint.textContent = key ? 'A key for ' + name + ' is kept in this browser (non-extractable); choose a file only to replace it.' : '';
    } catch {
      hint.hidden = true;
    }
  }

  async function decide(form, decision) {
    const article = form.closest('article.gate');
    const workflowId = form.dataset.workflowId;
    const approver = form.elements.approver.value;
    const text = form.elements.text.value.trim();
    if (article.dataset.signed !== 'true') return show(form, 'This gate was opened before signed approvals: decide with `mlcycle approve` instead.', 'error');
    if (decision === 'reject' && !text) return show(form, 'A rejection needs a reason: write it in the box above.', 'error');
    if (!window.crypto || !crypto.subtle) return show(form, 'This page is not a secure context, so the browser offers no WebCrypto: open the console over https or on 127.0.0.1.', 'error');
    let key;
    const file = form.elements.keyfile.files[0];
    try {
      if (file) {
        key = await importPem(await file.text());
        if (form.elements.remember.checked) await storeKey(approver, key);
      } else {
        key = await storedKey(approver);
        if (!key) return show(form, 'Choose your key file (e.g. ~/.config/mlcycle/approvers/' + approver + '.key).', 'error');
      }
    } catch (err) {
      return show(form, 'Cannot use that key: ' + err.message, 'error');
    }
    const fields = { workflowId, runId: article.dataset.runId, model: article.dataset.model, version: Number(article.dataset.version), decision, approver, at: new Date().toISOString() };
    if (decision === 'approve' && text) fields.comment = text;
    if (decision === 'reject') fields.reason = text;
    const statement = canonicalStatement(fields);
    let signature;
    try {
      signature = base64(new Uint8Array(await crypto.subtle.sign({ name: 'Ed25519' }, key, new TextEncoder().encode(statement))));
    } catch (err) {
      return show(form, 'Signing failed in this browser: ' + (err && err.message ? err.message : err), 'error');
    }
    show(form, 'Sending the signed ' + decision + '…', '');
    for (const b of form.querySelectorAll('button')) b.disabled = true;
    try {
      const res = await fetch('/api/approvals/' + encodeURIComponent(workflowId) + '/decide', {
        method: 'POST',
        credentials: 'same-origin',
        headers: { 'content-type': 'application/json', 'x-csrf-token': csrf() },
        body: JSON.stringify({ statement, signature }),
      });
      const body = await res.json().catch(() => ({}));
      if (!res.ok) {
        show(form, 'Refused: ' + (body.error || res.status + ' ' + res.statusText), 'error');
        for (const b of form.querySelectorAll('button')) b.disabled = false;
        return;
      }
      show(form, (decision === 'approve' ? 'Approved' : 'Rejected') + ' as ' + approver + (body.status ? ': ' + body.approvals + '/' + body.required + ' approvals, gate ' + body.status : '') + '.', 'ok');
      refreshStoredHint(form);
    } catch (err) {
      show(form, 'Could not reach the console: ' + err.message, 'error');
      for (const b of form.querySelectorAll('button')) b.disabled = false;
    }
  }

  for (const form of document.querySelectorAll('form.decision')) {
    refreshStoredHint(form);
    form.elements.approver.addEventListener('change', () => refreshStoredHint(form));
    for (const button of form.querySelectorAll('button[data-decision]')) {
      button.addEventListener('click', () => decide(form, button.dataset.decision));
    }
  }
})();
