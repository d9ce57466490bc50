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
