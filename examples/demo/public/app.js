// The demo SPA. It never sees a token: it calls its own origin with the session cookie
// (sent automatically, HttpOnly) and the anti-forgery header Gatehouse requires.
const api = (path, init = {}) =>
  fetch(path, { ...init, credentials: 'same-origin', headers: { 'X-CSRF': '1', ...(init.headers || {}) } });

const view = document.getElementById('view');
const account = document.getElementById('account');
const money = (n, c) => new Intl.NumberFormat('en', { style: 'currency', currency: c }).format(n);
const date = (iso) => new Date(iso).toLocaleDateString('en', { year: 'numeric', month: 'short', day: 'numeric' });
const esc = (s) =>
  String(s).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]);

let user = null;

async function loadUser() {
  const res = await api('/api/auth/user');
  user = res.ok ? await res.json() : null;
  if (!user) {
    account.innerHTML = `<button id="signin">Sign in</button>`;
    document.getElementById('signin').onclick = () => signIn();
    return;
  }
  account.innerHTML = `<span class="avatar" aria-hidden="true">${esc((user.name || user.sub)[0])}</span>
    <span id="user-name">${esc(user.name || user.sub)}</span><button class="secondary" id="signout">Sign out</button>`;
  document.getElementById('signout').onclick = signOut;
}

function signIn(returnTo = location.pathname) {
  location.assign(`/api/auth/login?returnTo=${encodeURIComponent(returnTo)}`);
}

async function signOut() {
  const res = await api('/api/auth/logout', { method: 'POST' });
  const { logoutUrl } = await res.json();
  location.assign(logoutUrl || '/');
}

async function render() {
  if (!user) {
    view.innerHTML = `<section class="card hero"><h1>Your orders, one click away</h1>
      <p class="muted">Sign in to see what you ordered and where it is.</p><button id="hero-signin">Sign in</button></section>`;
    document.getElementById('hero-signin').onclick = () => signIn();
    return;
  }
  const match = location.pathname.match(/^\/orders\/([\w-]+)$/);
  return match ? renderOrder(match[1]) : renderOrders();
}

async function fetchJson(path) {
  const res = await api(path);
  if (res.status === 401) {
    user = null;
    await loadUser();
    await render();
    return null;
  }
  if (!res.ok) throw new Error((await res.json().catch(() => ({}))).message || `HTTP ${res.status}`);
  return res.json();
}

async function renderOrders() {
  const data = await fetchJson('/api/orders');
  if (!data) return;
  const rows = data.orders
    .map(
      (o) => `<tr><td><a href="/orders/${esc(o.id)}" data-link>#${esc(o.id)}</a></td><td>${date(o.placedAt)}</td>
      <td><span class="status ${esc(o.status)}">${esc(o.status)}</span></td><td class="right">${money(o.total, o.currency)}</td></tr>`,
    )
    .join('');
  view.innerHTML = `<h2>Welcome back, ${esc(user.given_name || user.name || user.sub)}</h2>
    <section class="card"><table id="orders"><thead><tr><th>Order</th><th>Placed</th><th>Status</th><th class="right">Total</th></tr></thead>
    <tbody>${rows || '<tr><td colspan="4" class="muted">No orders yet.</td></tr>'}</tbody></table></section>`;
}

async function renderOrder(id) {
  const o = await fetchJson(`/api/orders/${encodeURIComponent(id)}`).catch((e) => ({ error: e.message }));
  if (!o) return;
  if (o.error) {
    view.innerHTML = `<p><a href="/" data-link>← All orders</a></p><p class="error">Order #${esc(id)}: ${esc(o.error)}</p>`;
    return;
  }
  const items = o.items
    .map(
      (i) =>
        `<tr><td>${esc(i.name)}</td><td>${esc(i.sku)}</td><td>${i.quantity}</td><td class="right">${money(i.price * i.quantity, o.currency)}</td></tr>`,
    )
    .join('');
  view.innerHTML = `<p><a href="/" data-link>← All orders</a></p>
    <section class="card" id="order-detail"><h2>Order #${esc(o.id)} <span class="status ${esc(o.status)}">${esc(o.status)}</span></h2>
    <p class="muted">Placed ${date(o.placedAt)}</p>
    <table><thead><tr><th>Item</th><th>SKU</th><th>Qty</th><th class="right">Amount</th></tr></thead><tbody>${items}</tbody>
    <tfoot><tr><th colspan="3">Total</th><th class="right">${money(o.total, o.currency)}</th></tr></tfoot></table></section>`;
}

// Client-side routing: links marked data-link change the URL without a page load.
document.addEventListener('click', (event) => {
  const link = event.target.closest('a[data-link]');
  if (!link || event.metaKey || event.ctrlKey) return;
  event.preventDefault();
  history.pushState(null, '', link.getAttribute('href'));
  render().catch(showError);
});
window.addEventListener('popstate', () => render().catch(showError));

function showError(error) {
  view.innerHTML = `<p class="error">${esc(error.message)}</p>`;
}

loadUser().then(render).catch(showError);
