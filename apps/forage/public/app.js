// Forage's feed page script (plain ES module, no build step): loads /feed and
// /interests, renders the cards and the model panel, sends reactions to
// /signal (dwell is measured while a card is open and sent when it closes)
// and fetches the feed again after each action.

const $ = (sel, root = document) => root.querySelector(sel);
const feedEl = $('#feed');
const statusEl = $('#status');
const userInput = $('#user-input');

const params = new URLSearchParams(location.search);
let user = Number(params.get('user')) || 1;
userInput.value = String(user);

// item_id -> time the card was opened (for dwell)
const openSince = new Map();

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === 'class') node.className = v;
    else if (k === 'text') node.textContent = v;
    else if (k.startsWith('on')) node.addEventListener(k.slice(2), v);
    else node.setAttribute(k, v);
  }
  for (const c of children) if (c) node.append(c);
  return node;
}

async function api(path, options) {
  const res = await fetch(path, options);
  const body = await res.json().catch(() => ({}));
  if (!res.ok) throw new Error(body.message || `${res.status} ${res.statusText}`);
  return body;
}

function sendSignal(itemId, signalType, durationMs) {
  const body = { user_id: user, item_id: itemId, signal_type: signalType };
  if (durationMs !== undefined) body.duration_ms = durationMs;
  return api('/signal', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
}

// Close a card: if it was open, send how long (a dwell).
async function closeCard(card) {
  const id = Number(card.dataset.itemId);
  const since = openSince.get(id);
  card.dataset.open = 'false';
  $('.toggle', card).setAttribute('aria-expanded', 'false');
  if (since === undefined) return;
  openSince.delete(id);
  const ms = Math.round(performance.now() - since);
  if (ms >= 1) await sendSignal(id, 'dwell', ms).catch((e) => setStatus(`dwell not recorded: ${e.message}`));
}

function toggleCard(card) {
  if (card.dataset.open === 'true') {
    closeCard(card).then(() => refreshModel());
  } else {
    card.dataset.open = 'true';
    $('.toggle', card).setAttribute('aria-expanded', 'true');
    openSince.set(Number(card.dataset.itemId), performance.now());
  }
}

async function react(card, signalType, position) {
  const id = Number(card.dataset.itemId);
  openSince.delete(id); // the reaction says more than the dwell
  setStatus(`${signalType} sent…`);
  try {
    await sendSignal(id, signalType);
    setStatus(`${signalType === 'save' ? 'Saved' : signalType === 'skip' ? 'Skipped' : 'Shared'}: ${card.dataset.title}`);
  } catch (e) {
    setStatus(`could not ${signalType}: ${e.message}`);
    return;
  }
  await load(position);
}

function setStatus(text) {
  statusEl.textContent = text;
}

function renderCard(item, position) {
  const label = item.label || 'popular';
  const details = el('div', { class: 'details', id: `details-${item.item_id}` },
    el('p', { class: 'summary', text: item.summary || '' }),
    item.url ? el('a', { href: item.url, target: '_blank', rel: 'noopener', text: 'Open the article' }) : null);
  const card = el('li', { class: 'card', 'data-item-id': String(item.item_id), 'data-topic': item.topic || '', 'data-label': label, 'data-open': 'false', 'data-title': item.title || '' });
  const toggle = el('button', { class: 'toggle', type: 'button', 'aria-expanded': 'false', 'aria-controls': `details-${item.item_id}`, onclick: () => toggleCard(card) },
    el('h3', { text: item.title || `item ${item.item_id}` }));
  const meta = el('div', { class: 'meta' },
    el('span', { class: `label ${label}`, text: label }),
    el('span', { class: 'source', text: item.source || '' }),
    el('span', { class: 'topic', text: item.topic ? `· ${item.topic}` : '' }));
  const actions = el('div', { class: 'actions' },
    el('button', { type: 'button', class: 'save', 'aria-label': `Save: ${item.title}`, onclick: () => react(card, 'save', position) , text: 'Save' }),
    el('button', { type: 'button', class: 'skip', 'aria-label': `Skip: ${item.title}`, onclick: () => react(card, 'skip', position), text: 'Skip' }),
    el('button', { type: 'button', class: 'share', 'aria-label': `Share: ${item.title}`, onclick: () => react(card, 'share', position), text: 'Share' }));
  card.append(toggle, meta, el('p', { class: 'why', text: item.why || '' }), details, actions);
  return card;
}

function renderFeed(items, focusPosition) {
  feedEl.replaceChildren(...items.map((item, i) => renderCard(item, i)));
  if (!items.length) feedEl.append(el('li', { class: 'empty', text: 'Nothing new to show right now.' }));
  if (focusPosition !== undefined && items.length) {
    const cards = feedEl.querySelectorAll('.card .toggle');
    cards[Math.min(focusPosition, cards.length - 1)].focus();
  }
}

function bars(container, rows, valueOf, labelOf, cls) {
  const max = Math.max(1e-9, ...rows.map(valueOf));
  for (const r of rows) {
    const v = valueOf(r);
    container.append(el('div', { class: 'bar' },
      el('span', { text: labelOf(r) }),
      el('span', { class: 'track' }, el('span', { class: `fill ${cls}`, style: `width:${Math.max(0, (100 * v) / max).toFixed(1)}%;display:block` })),
      el('span', { text: v.toFixed(2) })));
  }
}

function renderModel(model) {
  const box = $('#interests');
  box.replaceChildren();
  if (!model.interests.length) box.append(el('p', { class: 'empty', text: 'No interests yet: save, share or read a card.' }));
  else bars(box, model.interests, (r) => Number(r.share), (r) => r.arm, '');
  const tried = model.arms.filter((a) => Number(a.trials) > 0 || Number(a.successes) > 0);
  if (tried.length) {
    box.append(el('h3', { text: 'Bandit: chance each topic pleases you' }));
    bars(box, tried, (r) => Number(r.mean), (r) => r.arm, 'bandit');
  }
  renderSparkline($('#hit-rate'), model.exploration_hit_rate);
}

function renderSparkline(container, points) {
  container.replaceChildren();
  if (!points.length) {
    container.append(el('p', { class: 'empty', text: 'No exploring cards yet.' }));
    return;
  }
  const w = 240;
  const h = 70;
  const n = points.length;
  const x = (i) => (n === 1 ? w / 2 : (i * w) / (n - 1));
  const y = (r) => h - 4 - r * (h - 8);
  const d = points.map((p, i) => `${i ? 'L' : 'M'}${x(i).toFixed(1)},${y(p.rate).toFixed(1)}`).join(' ');
  const last = points[n - 1];
  const ns = 'http://www.w3.org/2000/svg';
  const svg = document.createElementNS(ns, 'svg');
  svg.setAttribute('class', 'spark');
  svg.setAttribute('viewBox', `0 0 ${w} ${h}`);
  svg.setAttribute('role', 'img');
  svg.setAttribute('aria-label', `Exploration hit rate ${Math.round(last.rate * 100)}% (${last.hits} of ${last.exploring} exploring cards)`);
  const path = document.createElementNS(ns, 'path');
  path.setAttribute('d', d);
  path.setAttribute('fill', 'none');
  path.setAttribute('stroke', '#8a4b00');
  path.setAttribute('stroke-width', '2');
  const base = document.createElementNS(ns, 'line');
  for (const [k, v] of Object.entries({ x1: 0, x2: w, y1: h - 4, y2: h - 4, stroke: '#d9dde5' })) base.setAttribute(k, v);
  svg.append(base, path);
  container.append(svg, el('p', { class: 'empty', text: `${last.hits} of ${last.exploring} exploring cards hit (${Math.round(last.rate * 100)}%)` }));
}

async function refreshModel() {
  try {
    renderModel(await api(`/interests?user=${user}`));
  } catch (e) {
    $('#interests').replaceChildren(el('p', { class: 'empty', text: `model unavailable: ${e.message}` }));
  }
}

async function load(focusPosition) {
  // close open cards first, so their dwell is counted before the feed moves on
  await Promise.all([...feedEl.querySelectorAll('.card[data-open="true"]')].map(closeCard));
  try {
    const feed = await api(`/feed?user=${user}&limit=7`);
    renderFeed(feed.items, focusPosition);
    feedEl.dataset.loaded = String(Date.now());
  } catch (e) {
    setStatus(`feed unavailable: ${e.message}`);
  }
  await refreshModel();
}

$('#user-form').addEventListener('submit', (ev) => {
  ev.preventDefault();
  const v = Number(userInput.value);
  if (!Number.isInteger(v) || v < 1) {
    setStatus('user must be a positive whole number');
    return;
  }
  user = v;
  history.replaceState(null, '', `?user=${user}`);
  load();
});

// a dwell still open when the page goes away
addEventListener('pagehide', () => {
  for (const [id, since] of openSince) {
    const body = JSON.stringify({ user_id: user, item_id: id, signal_type: 'dwell', duration_ms: Math.max(1, Math.round(performance.now() - since)) });
    navigator.sendBeacon('/signal', new Blob([body], { type: 'application/json' }));
  }
});

load();
