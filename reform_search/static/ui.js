// reform-search web UI: the JavaScript that ui.py hands to Gradio, in named sections.
// ui.py splits this file at the `// === name` lines and passes each section where it belongs.

// === counterparts
// js_on_load of a result panel: a card's button asks for that passage's counterparts.
// When the panel for the asked passage arrives it is scrolled into view and its title focused, so the
// click visibly does something however far down the page the panel is.
if (!element.__rsBound) {
  element.__rsBound = true;
  let asked = null;
  const results = element.closest('[id$="-results"]') || element;
  const panelBox = () => document.getElementById(results.id.replace(/-results$/, '-counterparts'));
  const show = () => {
    const panel = panelBox()?.querySelector('.rs-cp-panel');
    if (!asked || !panel || panel.dataset.source !== asked) return;
    asked = null;
    panel.scrollIntoView({block: 'start', behavior: 'smooth'});
    panel.querySelector('.rs-cp-title')?.focus({preventScroll: true});
  };
  element.addEventListener('click', (e) => {  // 日本語で試す: a word of an English question's passages, compared
    const word = e.target.closest('button[data-try]');
    const box = word && element.contains(word) && document.querySelector('#compare-query textarea');
    if (!box) return;
    box.value = word.dataset.try;
    box.dispatchEvent(new Event('input', {bubbles: true}));
    setTimeout(() => document.getElementById('compare-go')?.click(), 50);
  });
  element.addEventListener('click', (e) => {
    const b = e.target.closest('button[data-passage]');
    if (!b || !element.contains(b)) return;
    element.querySelectorAll('.rs-card.rs-active').forEach((c) => c.classList.remove('rs-active'));
    const c = b.closest('.rs-card');
    if (c) c.classList.add('rs-active');
    asked = b.dataset.passage;
    const box = panelBox();
    if (box && !box.__rsWatched) {
      box.__rsWatched = true;
      new MutationObserver(show).observe(box, {childList: true, subtree: true, attributes: true});
    }
    trigger('counterparts', {passage: b.dataset.passage});
  });
}

// === pick_cell
// js_on_load of the heatmap: a click (or Enter / Space) on a cell asks for its passages.
if (!element.__rsBound) {
  element.__rsBound = true;
  const pick = (e) => {
    const c = e.target.closest('[data-theme]');
    if (c && element.contains(c)) trigger('pick_cell', {theme: c.dataset.theme, city: c.dataset.city});
  };
  element.addEventListener('click', pick);
  element.addEventListener('keydown', (e) => { if (e.key === 'Enter' || e.key === ' ') pick(e); });
}

// === history
// js_on_load of the page's header: an earlier question's address, brought back by Back or Forward (the
// page section's popstate), asked again on the server as an opened link is (layout.py, link.py).
window.rsRestore = (search) => trigger('restore', {search});

// === page
// In the page's <head>, once. The page is Japanese first: Gradio writes lang="en", so screen readers read
// 比較 and the passages with an English voice (the English halves carry lang="en": render.py). Messages
// that change after a request live in containers marked aria-live before their text changes, so they
// are announced. rsShown(id) and rsReveal(id) run when what a reader asked for is in (layout.py).
(() => {
  const root = document.documentElement;
  const japanese = () => { if (root.lang !== 'ja') root.lang = 'ja'; };
  japanese();
  new MutationObserver(japanese).observe(root, {attributes: true, attributeFilter: ['lang']});
  const live = ['corpus-message', 'corpus-confirm-text', 'themes-cell', 'rs-announce'];
  const mark = () => {
    for (const id of live) {
      const el = document.getElementById(id);
      if (el && !el.hasAttribute('aria-live')) el.setAttribute('aria-live', 'polite');
    }
    const message = document.getElementById('corpus-message');
    if (message && !message.hasAttribute('tabindex')) message.setAttribute('tabindex', '-1');
    // Gradio names each radio button of a group apart (radio-1, radio-2 …): one name makes them one
    // group, one Tab stop whose arrow keys choose, as a reader expects
    for (const input of document.querySelectorAll('#search-mode input[type=radio]')) {
      if (input.name !== 'search-mode') input.name = 'search-mode';
    }
    // Gradio's button for the tabs that do not fit (a phone's "⋯": an icon, no text) is named in English
    // alone, or not at all: named as the page is, Japanese first
    for (const more of document.querySelectorAll('#rs-tabs button:not([role=tab]):has(> svg)')) {
      if (more.textContent.trim() || more.getAttribute('aria-label') === MORE_TABS) continue;
      more.setAttribute('aria-label', MORE_TABS);
      more.title = MORE_TABS;
    }
    for (const box of document.querySelectorAll('.rs-heatmap-wrap, .rs-table-wrap')) scrolls(box);
  };
  const MORE_TABS = 'その他のタブ / More tabs';
  // A box wider than the screen says that it scrolls sideways (the heatmap's cells, the documents table on
  // a phone; a second city's column had been cut with no sign of more): its hint (.rs-scroll-hint) shows
  // while it overflows, and its right edge fades while more lies beyond it (ui.css). Sizes are watched,
  // not read once: a tab's content has none until the tab is opened.
  const cue = (box) => {
    const over = box.scrollWidth - box.clientWidth > 1;
    box.classList.toggle('rs-overflows', over);
    box.classList.toggle('rs-more-right', over && box.scrollLeft + box.clientWidth < box.scrollWidth - 1);
  };
  const sized = new ResizeObserver((entries) => {
    for (const e of entries) {
      const box = e.target.closest('.rs-heatmap-wrap, .rs-table-wrap');
      if (box) cue(box);
    }
  });
  const scrolls = (box) => {
    if (box.__rsCue) return;
    box.__rsCue = true;
    box.addEventListener('scroll', () => cue(box), {passive: true});
    for (const watched of [box, ...box.children]) sized.observe(watched);
    cue(box);
  };
  // A dropdown's chosen label shown whole: an input cuts what is longer than its box (a built-in theme's
  // "日本語 / English" on a phone), so a copy that wraps lies over it (ui.css .rs-dd), the input's own text
  // shown only while it has the focus, to type in. Gradio sets the input's value with no event: the
  // copy follows the property.
  const value = Object.getOwnPropertyDescriptor(HTMLInputElement.prototype, 'value');
  const whole = (input) => {
    if (input.__rsWhole) return;
    input.__rsWhole = true;
    // a single choice only, its arrow lying over the input: a multiselect's labels are tokens that wrap
    const row = [...input.parentElement.children];
    if (row.some((c) => c !== input && getComputedStyle(c).position !== 'absolute')) return;
    const copy = document.createElement('span');
    copy.className = 'rs-dd-shown';
    copy.setAttribute('aria-hidden', 'true');  // the input itself is read
    Object.defineProperty(input, 'value', {
      configurable: true,
      get() { return value.get.call(this); },
      set(v) { value.set.call(this, v); copy.textContent = value.get.call(this); },
    });
    input.addEventListener('input', () => { copy.textContent = input.value; });
    copy.textContent = input.value;
    input.parentElement.classList.add('rs-dd');
    input.parentElement.append(copy);
  };
  // In-page links (a verdict to its city's column, the skip link to the results) carry the page's address
  // before their #id: a bare "#id", resolved against the page's base as "/#id", had lost the comparison
  // when opened in a new tab or copied. Their target is kept in data-rs-to; the href follows the address.
  const unescape = (id) => { try { return decodeURIComponent(id); } catch { return id; } };  // "%" by hand
  const inPage = () => {
    const here = window.location.pathname + window.location.search;
    for (const a of document.querySelectorAll('a[href^="#"]:not([href="#"]), a[data-rs-to]')) {
      a.dataset.rsTo ??= unescape(a.getAttribute('href').slice(1));
      const href = `${here}#${encodeURIComponent(a.dataset.rsTo)}`;
      if (a.getAttribute('href') !== href) a.setAttribute('href', href);
    }
  };
  new MutationObserver(() => {
    mark();
    inPage();
    for (const input of document.querySelectorAll('.secondary-wrap > input[role=combobox]')) whole(input);
  }).observe(root, {childList: true, subtree: true});
  // A click moves within the page itself, no page loaded: the target shown and focused, as a followed link
  // does, so Tab goes on from there. A new tab (a middle click, Ctrl) is the browser's.
  const go = (target) => {
    if (!target.hasAttribute('tabindex') && target.tabIndex < 0) target.setAttribute('tabindex', '-1');
    target.scrollIntoView({block: 'start'});
    target.focus({preventScroll: true});
  };
  document.addEventListener('click', (e) => {
    const link = e.target.closest('a[data-rs-to]');
    const target = link && document.getElementById(link.dataset.rsTo);
    if (!target || e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey) return;
    e.preventDefault();
    go(target);
  });
  // Such a link opened in a new tab (?tab=compare&q=…#rs-verdict-1): its place is shown once the link's
  // result is in (rsLinked, layout.py) and settled; the browser had looked for it before it was asked
  const arrived = unescape(window.location.hash.slice(1));
  const arrive = (tries, ready) => setTimeout(() => {
    const target = window.rsLinked && document.getElementById(arrived);
    const now = Boolean(target) && !document.querySelector('.pending');
    if (now && ready) go(target);
    else if (tries > 0) arrive(tries - 1, now);
  }, 150);
  if (arrived) arrive(400, false);  // for a minute at most
  // A counterparts panel's way back: to the card it was asked from, its button focused
  document.addEventListener('click', (e) => {
    const back = e.target.closest('.rs-cp-back');
    const box = back?.closest('[id$="-counterparts"]');
    if (!box) return;
    const results = document.getElementById(box.id.replace(/-counterparts$/, '-results'));
    const asked = [...(results?.querySelectorAll('button[data-passage]') || [])]
      .find((b) => b.dataset.passage === back.dataset.source);
    if (!asked) return;
    asked.closest('.rs-card')?.scrollIntoView({block: 'center'});
    asked.focus({preventScroll: true});
  });
  // The element in view (scrolled to when it is not), and focused when it can be: a result or message
  // below the fold of a phone, or at 200 % zoom, had arrived unseen, the focus left in the query box.
  const reveal = (el) => {
    const top = el.getBoundingClientRect().top;
    if (top < 0 || top > window.innerHeight * 0.8) el.scrollIntoView({block: 'start'});
    if (el.tabIndex >= 0 || el.hasAttribute('tabindex')) el.focus({preventScroll: true});
  };
  window.rsReveal = (id) => setTimeout(() => {
    const el = document.getElementById(id);
    if (el) reveal(el);
  }, 50);
  // The address bar links to what is shown (reform_search/web/link.py reads it when a page opens): the
  // tab and query last asked, its cities unless all are ticked, and each of its controls not at its first
  // value (`values`, in the order of `first`: link.py `defaults`, each asking tab's controls' first values
  // by parameter). A new question (another query, tab or control) is a new entry of the history, so Back
  // and Forward go between questions (`restore`); a link opened and tidied, an entry brought back, or the
  // same question again replace it, and so does a control changed again at once (a slider dragged, a
  // few cities ticked in a row: one entry). Other parameters (Gradio's ?__theme=dark) are kept.
  let redone = 0;  // when a control last changed the address
  window.rsAt = window.location.search;  // the address of what is shown
  window.rsLink = (tab, q, cities, values = [], first = {}, how = 'ask') => {
    const url = new URL(window.location.href);
    const named = Object.values(first).flatMap((controls) => Object.keys(controls));
    for (const key of ['tab', 'q', 'city', ...named]) url.searchParams.delete(key);
    const text = (q || '').trim();
    if (tab === 'themes' || tab === 'corpus') {  // a tab without a query: the tab alone
      url.searchParams.set('tab', tab);
    } else if (text && !(cities && cities.length === 0)) {  // no city ticked: nothing shown to link to
      url.searchParams.set('tab', tab);
      url.searchParams.set('q', text);
      const offered = document.querySelectorAll(`#${tab}-cities input[type=checkbox]`).length;
      if (cities && cities.length && cities.length < offered) {
        for (const c of cities) url.searchParams.append('city', c);
      }
      Object.entries(first[tab] || {}).forEach(([key, start], i) => {
        const value = values[i];
        if (Array.isArray(value)) value.forEach((v) => url.searchParams.append(key, v));
        else if (value !== null && value !== undefined && String(value) !== String(start)) {
          url.searchParams.set(key, value);
        }
      });
    } else if (tab !== 'compare') {  // the search tab, nothing asked yet: reopened there, not on the first
      url.searchParams.set('tab', tab);
    }
    const moved = url.search !== window.location.search;
    if (moved) url.hash = '';  // a place in the last result
    const again = how === 'redo' && Date.now() - redone < 1500;
    redone = how === 'redo' ? Date.now() : 0;
    if (moved && how !== 'open' && !again && !window.rsRestoring) history.pushState(null, '', url);
    else if (url.href !== window.location.href) history.replaceState(history.state, '', url);
    window.rsAt = window.location.search;
    titled();
    inPage();
  };
  // The window's title names the question the address asks, so that the history's entries (Back's list,
  // a bookmark) tell one question from another: 「テレワーク — 比較 · reform-search — …」
  const titled = () => {
    window.rsTitle = window.rsTitle || document.title;
    const params = new URLSearchParams(window.location.search);
    const asked = (params.getAll('q').pop() || '').trim();
    const names = {compare: '比較', search: '検索'};
    const where = names[params.getAll('tab').pop()] || names.compare;
    document.title = asked ? `${asked} — ${where} · ${window.rsTitle}` : window.rsTitle;
  };
  // Back or Forward to an earlier question's address: asked again in place (window.rsRestore, the header's
  // script: layout.py), its query, cities and controls set as a link sets them; the page is loaded anew
  // when it has not opened yet. A place within the page (#…) alone is the browser's.
  window.addEventListener('popstate', () => {
    if (window.location.search === window.rsAt) return;
    window.rsAt = window.location.search;
    titled();
    if (!window.rsRestore || !window.rsLinked) {
      window.location.reload();
      return;
    }
    window.rsRestoring = true;  // its tab chosen writes no entry: link_shown (layout.py) tidies it
    window.rsRestore(window.location.search);
  });
  // A comparison or a search asked for: its verdicts (else why nothing matches, else its heading) said
  // aloud, its heading shown. The region is emptied first: the same words again are said again. Redone
  // by a control (`quiet`): said, but neither the page nor the focus moves from the control.
  window.rsShown = (id, quiet) => setTimeout(() => {
    const box = document.getElementById(id);
    const head = box?.querySelector('.rs-query, .rs-why, .rs-none, .rs-hint');
    if (!head) return;
    const said = (box.querySelector('.rs-verdicts') || box.querySelector('.rs-why') || head).innerText;
    const status = document.getElementById('rs-announce');
    if (status) {
      status.textContent = '';
      setTimeout(() => { status.textContent = said.replace(/\s+/g, ' ').trim(); }, 100);
    }
    const top = box.getBoundingClientRect().top;
    const away = top < 0 || top > window.innerHeight * 0.8;
    if (!quiet && away) {
      box.scrollIntoView({block: 'start'});
      if (head.hasAttribute('tabindex')) head.focus({preventScroll: true});
    } else if (quiet && top > window.innerHeight * 0.8) {
      updated(box);
    }
  }, 50);
  // Redone by a control while the results lie below the window (a phone: 件数 or a city ticked above
  // them): a sign at the window's foot (its top, when the control used is there) that they changed,
  // taking the reader there; it goes once they are in view, at a touch elsewhere, or after a while. The
  // page itself does not move under the reader's finger. One sign, with one set of watchers.
  let touched = null;  // what the reader last pressed (a checkbox's label keeps no focus)
  document.addEventListener('pointerdown', (e) => { touched = e.target; }, true);
  const updated = (box) => {
    let sign = document.getElementById('rs-updated');
    if (!sign) {
      sign = document.createElement('button');
      sign.id = 'rs-updated';
      sign.type = 'button';
      sign.className = 'rs-updated';
      sign.innerHTML = '↓ 結果を更新しました <span lang="en">/ results updated</span>';
      document.body.appendChild(sign);
    }
    document.removeEventListener('pointerdown', sign.__rsElsewhere, true);  // the last sign's watchers
    sign.__rsSeen?.disconnect();
    const hide = () => { sign.hidden = true; document.removeEventListener('pointerdown', elsewhere, true); };
    const elsewhere = (e) => { if (!sign.contains(e.target)) hide(); };  // the reader moved on
    sign.__rsElsewhere = elsewhere;
    const used = (document.activeElement !== document.body && document.activeElement) || touched;
    const low = used?.getBoundingClientRect().bottom > window.innerHeight - 90;
    sign.classList.toggle('rs-updated-top', Boolean(low));  // never over the control just used
    sign.onclick = () => {
      hide();
      box.scrollIntoView({block: 'start'});
      box.querySelector('.rs-query[tabindex], .rs-why[tabindex]')?.focus({preventScroll: true});
    };
    sign.hidden = false;
    setTimeout(() => document.addEventListener('pointerdown', elsewhere, true), 0);
    clearTimeout(sign.__rsTimer);
    sign.__rsTimer = setTimeout(hide, 8000);
    const seen = new IntersectionObserver((entries) => {
      if (entries.some((e) => e.isIntersecting)) { hide(); seen.disconnect(); }
    });
    sign.__rsSeen = seen;
    seen.observe(box);
  };
})();
