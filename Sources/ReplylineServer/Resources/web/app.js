/* Replyline staff inbox: progressive enhancement.
 *
 * Every page works without this script (links, forms, server-rendered counts). It adds:
 *   - live updates: Server-Sent Events from /events; on any event the page re-fetches
 *     itself (header X-Live-Refresh: 1, which does not mark a thread read) and swaps the
 *     server-rendered parts, so counts and statuses always come from the server;
 *   - a browser notification for a new text while the tab is hidden (opt-in button);
 *   - the reply box's segment counter (the same rules as ReplylineCore's SegmentCounter);
 *   - quick replies and keyboard shortcuts (? lists them).
 * Plain ES2020, no modules, no libraries; loaded with `defer`. CSP-safe: no inline code.
 */
(() => {
  'use strict';

  /* ---- Segment counter: a port of Sources/ReplylineCore/Text/Segments.swift ----------
   * GSM-7 when every character is in the GSM 03.38 basic or extension table (extension
   * characters count 2 septets): 160 septets in one part, 153 per part when concatenated.
   * Otherwise UCS-2, counted in UTF-16 code units: 70 in one part, 67 per part. An escape
   * pair or a surrogate pair is never split across parts. "" is 1 segment, as on the server.
   */
  const GSM_BASIC = new Set('@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !"#¤%&\'()*+,-./0123456789:;<=>?¡' +
    'ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà');
  const GSM_EXTENDED = new Set('^{}\\[]~|€\f');

  // Packs indivisible units (1 or 2 wide) into parts without splitting any of them.
  function parts(widths, single, multi) {
    const total = widths.reduce((a, b) => a + b, 0);
    if (total <= single) return 1;
    let count = 1, used = 0;
    for (const width of widths) {
      if (used + width > multi) { count += 1; used = 0; }
      used += width;
    }
    return count;
  }

  function countSegments(text) {
    const septets = [];
    for (const ch of text) { // iterates code points, like Swift's unicodeScalars
      if (GSM_BASIC.has(ch)) septets.push(1);
      else if (GSM_EXTENDED.has(ch)) septets.push(2);
      else {
        const widths = Array.from(text, (c) => c.length); // 2 for a surrogate pair
        return { encoding: 'UCS-2', units: widths.reduce((a, b) => a + b, 0), segments: parts(widths, 70, 67) };
      }
    }
    return { encoding: 'GSM-7', units: septets.reduce((a, b) => a + b, 0), segments: parts(septets, 160, 153) };
  }

  /* The counter's text: "{units}/{capacity} · {GSM-7|UCS-2} · {n} segment(s)", where
   * capacity is what the parts shown can hold: 160 (GSM-7) or 70 (UCS-2) for one part,
   * n × 153 or n × 67 when concatenated. "42/160 · GSM-7 · 1 segment",
   * "200/306 · GSM-7 · 2 segments", "71/134 · UCS-2 · 2 segments". An empty box reads
   * "0/160 · GSM-7 · 0 segments", as the server renders it (nothing to send yet). */
  function formatSegments(text) {
    const c = countSegments(text);
    const n = c.units === 0 ? 0 : c.segments;
    const gsm = c.encoding === 'GSM-7';
    const capacity = n <= 1 ? (gsm ? 160 : 70) : n * (gsm ? 153 : 67);
    return `${c.units}/${capacity} · ${c.encoding} · ${n} segment${n === 1 ? '' : 's'}`;
  }

  if (typeof module === 'object' && module.exports) module.exports = { countSegments, formatSegments };
  if (typeof document === 'undefined') return; // loaded by node for the counter's tests

  const $ = (selector, root = document) => root.querySelector(selector);
  const $$ = (selector, root = document) => Array.from(root.querySelectorAll(selector));
  const signedIn = !!$('meta[name="csrf-token"]') && !document.body.classList.contains('page-login');

  /* ---- Compose: counter, quick replies, one send at a time ---------------------------- */
  function updateCounter() {
    const reply = $('#reply'), output = $('#segments');
    if (reply && output) output.value = formatSegments(reply.value);
  }
  document.addEventListener('input', (event) => { if (event.target.id === 'reply') updateCounter(); });
  updateCounter(); // the browser may have restored a draft after Back

  document.addEventListener('click', (event) => {
    const button = event.target.closest('button.quick-reply[data-text]');
    const reply = $('#reply');
    if (!button || !reply || reply.disabled) return;
    reply.value = button.dataset.text;
    updateCounter();
    reply.focus();
    reply.setSelectionRange(reply.value.length, reply.value.length);
  });

  document.addEventListener('submit', (event) => {
    if (event.target.id !== 'compose') return;
    const send = $('#send');
    // After the form data is built: a second click must not send the text twice.
    if (send) setTimeout(() => { send.disabled = true; }, 0);
  });
  window.addEventListener('pageshow', (event) => { // back to a page kept in memory
    const reply = $('#reply'), send = $('#send');
    if (event.persisted && reply && send) send.disabled = reply.disabled;
  });

  /* ---- Keyboard shortcuts ------------------------------------------------------------- */
  const SHORTCUTS = [['j / k', 'Next / previous conversation'], ['Enter', 'Open the selected conversation'],
    ['/', 'Search'], ['r', 'Reply'], ['Esc', 'Leave the reply box'], ['Ctrl+Enter or ⌘+Enter', 'Send'],
    ['?', 'Show or hide these shortcuts']];

  function shortcutsDialog() {
    let dialog = $('#shortcuts');
    if (dialog) return dialog;
    dialog = document.createElement('dialog');
    dialog.id = 'shortcuts';
    dialog.setAttribute('aria-labelledby', 'shortcuts-title');
    const title = document.createElement('h2');
    title.id = 'shortcuts-title';
    title.textContent = 'Keyboard shortcuts';
    const list = document.createElement('dl');
    for (const [keys, what] of SHORTCUTS) {
      const dt = document.createElement('dt'), dd = document.createElement('dd');
      for (const key of keys.split(/( \/ | or )/)) {
        if (key === ' / ' || key === ' or ') dt.append(key);
        else { const kbd = document.createElement('kbd'); kbd.textContent = key; dt.append(kbd); }
      }
      dd.textContent = what;
      list.append(dt, dd);
    }
    const close = document.createElement('button');
    close.type = 'button';
    close.textContent = 'Close';
    close.addEventListener('click', () => dialog.close());
    dialog.append(title, list, close);
    document.body.append(dialog);
    return dialog;
  }

  function toggleShortcuts() {
    const dialog = shortcutsDialog();
    if (dialog instanceof HTMLDialogElement) {
      if (dialog.open) dialog.close(); else dialog.showModal();
    } else {
      dialog.hidden = !dialog.hidden;
    }
  }

  function moveSelection(step) {
    const rows = $$('#conversations li.conversation');
    if (rows.length === 0) return;
    let index = rows.findIndex((row) => row.classList.contains('selected'));
    if (index < 0) index = rows.findIndex((row) => row.classList.contains('current'));
    index = index < 0 ? (step > 0 ? 0 : rows.length - 1) : Math.min(rows.length - 1, Math.max(0, index + step));
    select(rows[index], true);
  }

  function select(row, focus) {
    for (const other of $$('#conversations li.conversation.selected')) {
      other.classList.remove('selected');
      other.removeAttribute('aria-selected');
    }
    if (!row) return;
    row.classList.add('selected');
    row.setAttribute('aria-selected', 'true');
    const link = $('a.open', row);
    if (focus && link) link.focus(); // focus scrolls it into view; Enter then follows it
  }

  document.addEventListener('keydown', (event) => {
    if (event.defaultPrevented || event.isComposing) return;
    const target = event.target;
    const typing = target instanceof Element && !!target.closest('input, textarea, select, [contenteditable="true"]');
    if (event.key === 'Enter' && (event.ctrlKey || event.metaKey) && target.id === 'reply') {
      const form = $('#compose'), send = $('#send');
      if (form && !target.disabled && !(send && send.disabled) && target.value.trim() !== '') {
        event.preventDefault();
        if (form.requestSubmit) form.requestSubmit(send || undefined); else form.submit();
      }
      return;
    }
    if (event.key === 'Escape' && typing) { target.blur(); return; }
    if (typing || event.ctrlKey || event.metaKey || event.altKey) return;
    const dialog = $('#shortcuts');
    if (dialog && dialog.open && event.key !== '?') return; // the dialog has the keyboard

    switch (event.key) {
      case 'j': moveSelection(1); break;
      case 'k': moveSelection(-1); break;
      case 'Enter': {
        // A focused link or button does its own thing; otherwise open the selected row.
        if (target.closest && target.closest('a, button, summary')) return;
        const link = $('#conversations li.conversation.selected a.open');
        if (!link) return;
        location.href = link.href;
        break;
      }
      case '/': {
        const search = $('#search');
        if (!search) return;
        search.focus();
        search.select();
        break;
      }
      case 'r': {
        const reply = $('#reply');
        if (!reply || reply.disabled) return;
        reply.focus();
        reply.setSelectionRange(reply.value.length, reply.value.length);
        break;
      }
      case '?': toggleShortcuts(); break;
      default: return;
    }
    event.preventDefault();
  });

  // Keep the keyboard selection where a click or Tab puts the focus in the list.
  document.addEventListener('focusin', (event) => {
    const row = event.target.closest && event.target.closest('#conversations li.conversation');
    if (row && !row.classList.contains('selected')) select(row, false);
  });

  /* ---- Thread scrolling ----------------------------------------------------------------
   * On a wide screen #messages scrolls by itself (see app.css); on a phone the page does. */
  function threadScroller() {
    const messages = $('#messages');
    if (!messages) return null;
    const overflow = getComputedStyle(messages).overflowY;
    return overflow === 'auto' || overflow === 'scroll' ? messages : document.scrollingElement;
  }

  function threadAtBottom() {
    const messages = $('#messages'), scroller = threadScroller();
    if (!scroller) return false;
    if (scroller === messages) return scroller.scrollHeight - scroller.scrollTop - scroller.clientHeight < 24;
    const bottom = messages.getBoundingClientRect().bottom; // the page scrolls: is the end in view?
    return bottom >= 0 && bottom <= window.innerHeight + 24;
  }

  function scrollThreadToEnd() {
    const messages = $('#messages'), scroller = threadScroller();
    if (!scroller) return;
    if (scroller === messages) messages.scrollTop = messages.scrollHeight;
    else if (messages.lastElementChild) messages.lastElementChild.scrollIntoView({ block: 'nearest' });
  }

  // Open a thread at its newest message, unless the #fragment names a message.
  const anchored = location.hash && document.getElementById(decodeURIComponent(location.hash.slice(1)));
  if (!(anchored && $('#messages') && $('#messages').contains(anchored))) scrollThreadToEnd();

  /* ---- Live updates ------------------------------------------------------------------- */
  // Parts swapped from the re-fetched page when both pages have them (contents only).
  const LIVE_PARTS = ['#conversations', 'nav.filters', '#messages', '#client', '#outbound', '#usage', 'header.top nav.main'];
  const FIELDS = 'input:not([type=hidden]):not([type=submit]):not([type=button]), textarea, select';
  let source = null, stopped = false, hadError = false, retryDelay = 5000;
  let timer = null, firstPending = 0, inFlight = false, again = false;

  function fieldKey(field) {
    const form = field.form;
    return `${form ? form.id || form.className : ''}|${field.id || field.name}`;
  }

  // What the user is doing inside a part: typed values, focus, open <details>.
  function saveState(part) {
    const state = { values: new Map(), focus: null, open: new Set() };
    for (const field of $$(FIELDS, part)) {
      const changed = field.type === 'checkbox' || field.type === 'radio' ? field.checked !== field.defaultChecked
        : field instanceof HTMLSelectElement ? $$('option', field).some((o) => o.selected !== o.defaultSelected)
          : field.value !== field.defaultValue;
      if (changed) state.values.set(fieldKey(field), field);
    }
    const active = document.activeElement;
    if (active && part.contains(active)) {
      const row = active.closest('[data-phone], [data-id]');
      state.focus = active.matches(FIELDS) ? { field: fieldKey(active) }
        : { row: row ? row.dataset.phone || row.dataset.id : null, href: active.getAttribute('href') };
    }
    for (const details of $$('details[open]', part)) {
      const owner = details.closest('[data-id], [data-phone]');
      state.open.add(`${owner ? owner.dataset.id || owner.dataset.phone : ''}|${details.className}`);
    }
    return state;
  }

  function restoreState(part, state) {
    for (const field of $$(FIELDS, part)) {
      const old = state.values.get(fieldKey(field));
      if (!old) continue;
      if (field.type === 'checkbox' || field.type === 'radio') field.checked = old.checked;
      else field.value = old.value;
    }
    for (const details of $$('details', part)) {
      const owner = details.closest('[data-id], [data-phone]');
      if (state.open.has(`${owner ? owner.dataset.id || owner.dataset.phone : ''}|${details.className}`)) details.open = true;
    }
    if (!state.focus) return;
    let target = null;
    if (state.focus.field) target = $$(FIELDS, part).find((f) => fieldKey(f) === state.focus.field);
    else {
      const row = state.focus.row && $$('[data-phone], [data-id]', part).find((r) => (r.dataset.phone || r.dataset.id) === state.focus.row);
      const scope = row || part;
      target = state.focus.href !== null ? $$('a[href]', scope).find((a) => a.getAttribute('href') === state.focus.href) : row;
    }
    if (target) target.focus({ preventScroll: true });
  }

  // Elements that come and go (empty state, paging, consent): replaced, added or removed
  // to match the fetched page; [selector, anchor, where a new one goes relative to it].
  const LIVE_ELEMENTS = [['#list > p.empty', '#conversations', 'before'], ['#list > a.next', '#conversations', 'after'],
    ['#thread .banner', '#compose', 'before'], ['#compose p.send-disabled', '#compose', 'append'],
    ['#thread ul.quick-replies', '#compose', 'after']];

  function applyPage(fresh) {
    const selectedPhone = ($('#conversations li.conversation.selected') || {}).dataset?.phone;
    const stick = threadAtBottom();
    const scroller = threadScroller();
    const scrollTop = scroller ? scroller.scrollTop : 0;

    for (const selector of LIVE_PARTS) {
      const current = $(selector), next = $(selector, fresh);
      if (!current || !next) continue;
      const state = saveState(current);
      current.replaceChildren(...next.childNodes);
      restoreState(current, state);
    }
    for (const [selector, anchorSelector, where] of LIVE_ELEMENTS) {
      const current = $(selector), next = $(selector, fresh), anchor = $(anchorSelector);
      if (current && next) current.replaceWith(next);
      else if (current) current.remove();
      else if (next && anchor) anchor[where](next);
    }
    // Consent can change while a thread is open: whether sending is allowed.
    for (const id of ['reply', 'send']) {
      const current = document.getElementById(id), next = fresh.getElementById(id);
      if (current && next) current.disabled = next.disabled;
    }
    if (fresh.title) document.title = fresh.title;

    if (selectedPhone) select($$('#conversations li.conversation').find((r) => r.dataset.phone === selectedPhone), false);
    if (stick) scrollThreadToEnd();
    else if (scroller && scroller === $('#messages')) scroller.scrollTop = scrollTop;
  }

  function scheduleRefresh() {
    if (stopped) return;
    const now = Date.now();
    if (!timer) firstPending = now;
    clearTimeout(timer);
    // Debounce bursts, but never keep the page waiting more than about a second.
    timer = setTimeout(refresh, now - firstPending > 850 ? 0 : 150);
  }

  async function refresh() {
    timer = null;
    if (inFlight) { again = true; return; }
    inFlight = true;
    try {
      const response = await fetch(location.href, { headers: { 'X-Live-Refresh': '1' }, credentials: 'same-origin' });
      if (response.redirected && new URL(response.url).pathname === '/login') { stop(); return; }
      if (!response.ok) return; // a transient error: the next event tries again
      const fresh = new DOMParser().parseFromString(await response.text(), 'text/html');
      if (fresh.body.classList.contains('page-login')) { stop(); return; }
      applyPage(fresh);
      markOpenThreadRead();
    } catch (error) {
      // Offline or the server restarting: EventSource reconnects and we refresh then.
    } finally {
      inFlight = false;
      if (again && !stopped) { again = false; scheduleRefresh(); }
    }
  }

  // A text that arrives in the thread on screen has been seen: mark it read, as opening the
  // thread would (a live refresh itself never does). Only while the tab is visible.
  async function markOpenThreadRead() {
    const current = $('#conversations li.conversation.current.unread');
    const token = $('meta[name="csrf-token"]');
    if (document.hidden || !current || !token || !$('#thread #messages')) return;
    try {
      await fetch(`${location.pathname}/read`, {
        method: 'POST', credentials: 'same-origin', headers: { 'X-CSRF-Token': token.content },
      });
    } catch (error) { /* the next refresh tries again */ }
  }
  document.addEventListener('visibilitychange', markOpenThreadRead);

  // The session expired or was signed out elsewhere: stop listening and say so.
  function stop() {
    stopped = true;
    if (source) source.close();
    const header = $('header.top');
    if (!header || $('#live-stopped')) return;
    const notice = document.createElement('p');
    notice.id = 'live-stopped';
    notice.className = 'notice';
    notice.setAttribute('role', 'status');
    const link = document.createElement('a');
    link.href = `/login?next=${encodeURIComponent(location.pathname + location.search)}`;
    link.textContent = 'Sign in again';
    notice.append('Signed out: this page no longer updates. ', link);
    header.append(notice);
  }

  function notify(event) {
    if (!document.hidden || !('Notification' in window) || Notification.permission !== 'granted') return;
    let phone = '';
    try { phone = JSON.parse(event.data).phone || ''; } catch (error) { /* ids only; keep going */ }
    const row = $$('#conversations li.conversation').find((r) => r.dataset.phone === phone);
    const name = row && $('span.name', row) ? $('span.name', row).textContent.trim() : phone;
    const notification = new Notification('New text', { body: name ? `From ${name}` : 'A new message arrived', tag: `replyline-${phone}` });
    notification.addEventListener('click', () => {
      window.focus();
      if (phone) location.href = `/conversations/${encodeURIComponent(phone)}`;
      notification.close();
    });
  }

  function connect() {
    source = new EventSource('/events');
    source.addEventListener('open', () => {
      retryDelay = 5000;
      if (hadError) { hadError = false; scheduleRefresh(); } // catch up once after a reconnect
    });
    source.addEventListener('error', () => {
      hadError = true;
      if (source.readyState !== EventSource.CLOSED || stopped) return; // the browser retries
      // The browser gave up (e.g. an error page instead of a stream): check the session, retry later.
      scheduleRefresh();
      setTimeout(() => { if (!stopped) connect(); }, retryDelay);
      retryDelay = Math.min(retryDelay * 2, 60000);
    });
    for (const type of ['message', 'status', 'consent', 'read']) source.addEventListener(type, scheduleRefresh);
    source.addEventListener('message', notify);
  }

  function offerNotifications() {
    const header = $('header.top');
    if (!header || !('Notification' in window) || Notification.permission !== 'default') return;
    const button = document.createElement('button');
    button.type = 'button';
    button.id = 'enable-notifications';
    button.textContent = 'Enable notifications';
    button.addEventListener('click', async () => {
      try { await Notification.requestPermission(); } finally { button.remove(); }
    });
    header.append(button);
  }

  if (signedIn && 'EventSource' in window) {
    connect();
    offerNotifications();
  }
})();
