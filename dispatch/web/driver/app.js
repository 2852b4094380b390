/* gongpei driver page: sign in with a shift token, see the route, record scans offline-first.
 *
 * Plain browser JavaScript, no build step and nothing from another origin. The shift token and a device id
 * made on this phone live in localStorage and go only to /v1/driver/* as headers. Every scan gets its
 * event_id (a UUID) at the moment it is recorded and waits in IndexedDB; the queue is sent in order when
 * the phone is online (on the `online` event and on a timer). The server stores an event once per
 * event_id, so sending one again is harmless; an event the server refuses is shown with its reason and
 * never sent again.
 */
(() => {
  'use strict';

  const API = '/v1/driver';
  const KEYS = {
    token: 'gongpei.driver.token',
    device: 'gongpei.driver.device_id',
    driver: 'gongpei.driver.driver_id',
  };
  const MANIFEST_CACHE = 'gongpei-driver-manifest'; // written by sw.js; dropped here on sign-out
  const FLUSH_EVERY_MS = 20000;
  const REFRESH_EVERY_MS = 180000;
  const REQUEST_TIMEOUT_MS = 20000;
  const BATCH_SIZE = 100; // the API takes up to 500 per request
  const KEEP_SYNCED_MS = 3 * 24 * 3600 * 1000;

  const BRANDS = {
    china_post: ['中国邮政', 'China Post'],
    ems: ['EMS', 'EMS'],
    zto: ['中通', 'ZTO'],
    yto: ['圆通', 'YTO'],
    sto: ['申通', 'STO'],
    yunda: ['韵达', 'Yunda'],
    jt: ['极兔', 'J&T'],
    sf: ['顺丰', 'SF'],
    jd: ['京东', 'JD'],
    deppon: ['德邦', 'Deppon'],
    other: ['其他', 'Other'],
  };
  // The API's failure reasons (carriers.unified.FailureReason); a test keeps this list in step with it.
  const REASONS = [
    ['nobody_home', '无人在家', 'Nobody home'],
    ['unreachable', '电话联系不上', 'Phone unreachable'],
    ['address_not_found', '地址找不到', 'Address not found'],
    ['refused', '拒收', 'Refused'],
    ['rescheduled', '改约他日', 'Rescheduled'],
    ['damaged', '包裹破损', 'Damaged'],
    ['wrong_sort', '错分', 'Wrong sort'],
    ['out_of_area', '超出派送范围', 'Out of area'],
    ['overdue_at_station', '驿站滞留超期', 'Overdue at station'],
    ['other', '其他', 'Other'],
  ];
  const TYPES = {
    delivered: ['签收', 'Delivered'],
    failed: ['未妥投', 'Failed'],
    picked_up: ['揽收', 'Picked up'],
    route_start: ['出车', 'Route start'],
    route_end: ['收车', 'Route end'],
  };
  const HANDOVER = {
    recipient: ['本人/家人', 'Recipient'],
    station: ['驿站', 'Station'],
    locker: ['快递柜', 'Locker'],
  };
  const SYNC_LABEL = {
    pending: ['待同步', 'pending'],
    synced: ['已同步', 'synced'],
    rejected: ['被拒', 'rejected'],
  };

  const state = {
    token: null,
    deviceId: null,
    driverId: null,
    manifest: null,
    etag: null,
    events: [], // the IndexedDB queue, in recording order
    rows: new Map(), // waybill -> {li, chip, buttons, item, stop}
    stopRows: [], // {li, count, waybills}
    authFailed: false,
    canHash: !!(window.crypto && crypto.subtle),
  };

  // ---------------------------------------------------------------- helpers

  const $ = (id) => document.getElementById(id);

  function h(tag, attrs, ...children) {
    const el = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs || {})) {
      if (value === null || value === undefined || value === false) continue;
      if (key === 'class') el.className = value;
      else if (key === 'dataset') Object.assign(el.dataset, value);
      else if (key.startsWith('on')) el.addEventListener(key.slice(2), value);
      else if (value === true) el.setAttribute(key, '');
      else el.setAttribute(key, String(value));
    }
    for (const child of children.flat(Infinity)) {
      if (child === null || child === undefined || child === false) continue;
      el.append(child instanceof Node ? child : String(child));
    }
    return el;
  }

  /** A Chinese label with its short English beside it. */
  function bi(pair) {
    return [pair[0], ' ', h('span', { class: 'en' }, pair[1])];
  }

  function uuid4() {
    if (crypto.randomUUID) return crypto.randomUUID();
    const b = crypto.getRandomValues(new Uint8Array(16));
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    const x = Array.from(b, (v) => v.toString(16).padStart(2, '0')).join('');
    return `${x.slice(0, 8)}-${x.slice(8, 12)}-${x.slice(12, 16)}-${x.slice(16, 20)}-${x.slice(20)}`;
  }

  async function sha256hex(text) {
    const buf = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(text));
    return Array.from(new Uint8Array(buf), (v) => v.toString(16).padStart(2, '0')).join('');
  }

  function yuan(fen) {
    return `¥${(fen / 100).toFixed(2)}`;
  }

  /** "HH:MM" of an ISO time as written (the operator's zone), not the phone's. */
  function clock(iso) {
    return typeof iso === 'string' && iso.length >= 16 ? iso.slice(11, 16) : '';
  }

  function localClock(date) {
    return date.toLocaleTimeString('zh-CN', { hour: '2-digit', minute: '2-digit', hour12: false });
  }

  function banner(text, kind) {
    const el = $('banner');
    el.replaceChildren(...[text].flat());
    el.className = `banner ${kind || ''}`;
    el.hidden = !text;
  }

  function toast(text) {
    banner(text, 'ok');
    clearTimeout(toast.timer);
    toast.timer = setTimeout(() => {
      if ($('banner').classList.contains('ok')) banner('');
    }, 4000);
  }

  async function api(path, init = {}) {
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), REQUEST_TIMEOUT_MS);
    const headers = new Headers(init.headers || {});
    headers.set('Authorization', `Bearer ${state.token}`);
    headers.set('X-Device-Id', state.deviceId);
    try {
      return await fetch(API + path, { ...init, headers, signal: controller.signal, credentials: 'omit' });
    } finally {
      clearTimeout(timer);
    }
  }

  async function problemText(resp) {
    try {
      const body = await resp.json();
      return body.detail || body.title || `HTTP ${resp.status}`;
    } catch (err) {
      return `HTTP ${resp.status}`;
    }
  }

  // ---------------------------------------------------------------- the queue (IndexedDB)

  const queue = (() => {
    let opening = null;

    function open() {
      if (!opening) {
        opening = new Promise((resolve, reject) => {
          const req = indexedDB.open('gongpei-driver', 1);
          req.onupgradeneeded = () => req.result.createObjectStore('events', { keyPath: 'seq', autoIncrement: true });
          req.onsuccess = () => {
            const conn = req.result;
            conn.onversionchange = () => conn.close();
            resolve(conn);
          };
          req.onerror = () => reject(req.error);
        });
        opening.catch(() => {
          opening = null;
        });
      }
      return opening;
    }

    async function write(work) {
      const conn = await open();
      return new Promise((resolve, reject) => {
        const tx = conn.transaction('events', 'readwrite');
        const result = work(tx.objectStore('events'));
        tx.oncomplete = () => resolve(result && 'result' in result ? result.result : undefined);
        tx.onerror = () => reject(tx.error);
        tx.onabort = () => reject(tx.error || new Error('transaction aborted'));
      });
    }

    return {
      async all() {
        const conn = await open();
        return new Promise((resolve, reject) => {
          const req = conn.transaction('events').objectStore('events').getAll(); // in seq order
          req.onsuccess = () => resolve(req.result);
          req.onerror = () => reject(req.error);
        });
      },
      add: (record) => write((store) => store.add(record)),
      putAll: (records) =>
        write((store) => {
          for (const r of records) store.put(r);
          return null;
        }),
      removeAll: (seqs) =>
        write((store) => {
          for (const s of seqs) store.delete(s);
          return null;
        }),
    };
  })();

  async function reloadQueue() {
    state.events = await queue.all();
    renderStatuses();
  }

  /** Record a scan now: its id and time are fixed here, whatever happens to the network later. */
  async function record(fields) {
    if (!state.manifest) throw new Error('没有派送单 / no manifest');
    const event = { event_id: uuid4(), ...fields, occurred_at: new Date().toISOString() };
    const entry = {
      driver_id: state.manifest.driver_id,
      manifest_id: state.manifest.manifest_id,
      event,
      status: 'pending',
      recorded_at: Date.now(),
    };
    await queue.add(entry);
    await reloadQueue();
    const [zh, en] = TYPES[event.type];
    toast(`已记录${zh}${event.waybill_no ? ` ${event.waybill_no}` : ''}，待同步 / ${en} recorded`);
    setTimeout(flush, 0);
    return entry;
  }

  // ---------------------------------------------------------------- sending the queue

  let flushing = false;
  let flushAgain = false;

  /** Send the queue unless a send is already running in this tab (then it runs once more after). */
  async function flush() {
    if (!state.token || state.authFailed || !navigator.onLine) return;
    if (flushing) {
      flushAgain = true;
      return;
    }
    flushing = true;
    $('sync').classList.add('busy');
    try {
      if (navigator.locks) {
        // One tab at a time sends the queue; a tab that finds it busy leaves this round to the other.
        await navigator.locks.request('gongpei-driver-flush', { ifAvailable: true }, async (lock) => {
          if (lock) await flushNow();
        });
      } else {
        await flushNow();
      }
    } catch (err) {
      banner(`同步出错，稍后重试 / sync failed, will retry: ${err.message || err}`, 'warn');
    } finally {
      flushing = false;
      $('sync').classList.remove('busy');
      await reloadQueue().catch(() => {});
      if (flushAgain) {
        flushAgain = false;
        setTimeout(flush, 0);
      }
    }
  }

  async function flushNow() {
    for (;;) {
      // Read the queue afresh each round: scans recorded meanwhile join it, in order.
      const driver = state.driverId;
      const all = await queue.all();
      const batch = all.filter((r) => r.status === 'pending' && r.driver_id === driver).slice(0, BATCH_SIZE);
      if (!batch.length || !navigator.onLine) break;
      let resp;
      try {
        resp = await api('/events', {
          method: 'POST',
          headers: { 'Content-Type': 'application/json' },
          body: JSON.stringify({ events: batch.map((r) => r.event) }),
        });
      } catch (err) {
        break; // no network: the timer or the `online` event tries again
      }
      if (resp.status === 401) {
        signedOutByServer();
        break;
      }
      const now = Date.now();
      if (resp.ok) {
        const body = await resp.json();
        for (const a of body.accepted || []) {
          Object.assign(batch[a.index], { status: 'synced', result: a.result, server_status: a.status, synced_at: now });
        }
        for (const r of body.rejected || []) {
          Object.assign(batch[r.index], { status: 'rejected', field: r.field, reason: r.reason, synced_at: now });
        }
        const unanswered = batch.filter((r) => r.status === 'pending');
        await queue.putAll(batch);
        await reloadQueue();
        if (unanswered.length) break; // not expected; try again on the next round rather than loop
        continue;
      }
      if ([400, 413, 422].includes(resp.status)) {
        // The request as a whole was refused: sending it again would be refused again.
        const reason = await problemText(resp);
        for (const r of batch) Object.assign(r, { status: 'rejected', field: 'events', reason, synced_at: now });
        await queue.putAll(batch);
        continue;
      }
      break; // 409, 429, 5xx: the server asks for a retry later
    }
    state.events = await queue.all();
    await prune();
  }

  async function prune() {
    const cutoff = Date.now() - KEEP_SYNCED_MS;
    const old = state.events.filter((r) => r.status !== 'pending' && (r.synced_at || r.recorded_at) < cutoff);
    if (old.length) await queue.removeAll(old.map((r) => r.seq));
  }

  // ---------------------------------------------------------------- the manifest

  let loading = null;
  let loadAgain = false;

  /** Fetch the manifest; calls made while one is in flight run once more after it. */
  function loadManifest() {
    if (loading) {
      loadAgain = true;
      return loading;
    }
    loading = (async () => {
      try {
        do {
          loadAgain = false;
          await loadManifestOnce();
        } while (loadAgain);
      } catch (err) {
        banner(`派送单加载出错 / could not load the route: ${err.message || err}`, 'error');
      } finally {
        loading = null;
      }
    })();
    return loading;
  }

  async function loadManifestOnce() {
    if (!state.token) return;
    const controlled = !!(navigator.serviceWorker && navigator.serviceWorker.controller);
    const headers = {};
    // Under the service worker, the worker revalidates its copy with the ETag itself.
    if (!controlled && state.etag) headers['If-None-Match'] = state.etag;
    let resp;
    try {
      resp = await api('/manifest', { headers, cache: 'no-store' });
    } catch (err) {
      showSource('offline');
      if (!state.manifest) showEmpty('离线，本机还没有派送单副本。联网后自动加载。 / Offline, and no copy of the route on this phone yet.');
      return;
    }
    if (resp.status === 304) {
      showSource('revalidated');
      return;
    }
    if (resp.status === 401) {
      signedOutByServer();
      return;
    }
    if (resp.status === 404) {
      setManifest(null, null);
      showEmpty('暂无派送单：调度发布后会显示在这里。 / Nothing published for you yet.');
      showSource('none');
      return;
    }
    if (!resp.ok) {
      banner(`派送单加载失败 / could not load the route: ${await problemText(resp)}`, 'error');
      return;
    }
    const etag = resp.headers.get('ETag');
    const source = resp.headers.get('X-Gongpei-Source');
    const fetchedAt = resp.headers.get('X-Gongpei-Fetched-At');
    const body = await resp.json();
    if (etag !== state.etag || !state.manifest) {
      const previous = state.manifest;
      setManifest(body, etag);
      if (previous && previous.manifest_id !== body.manifest_id) {
        banner(`派送单已更新（第${body.version}版） / The route was updated (version ${body.version})`, 'warn');
      }
    }
    showSource(source || 'network', fetchedAt);
    $('offline-ready').hidden = !source; // answered by the service worker, which keeps a copy
    loadInbox();
  }

  function setManifest(manifest, etag) {
    state.manifest = manifest;
    state.etag = etag;
    if (manifest && manifest.driver_id) {
      state.driverId = manifest.driver_id;
      localStorage.setItem(KEYS.driver, manifest.driver_id);
    }
    renderRoute();
    setTimeout(flush, 0);
  }

  function showSource(source, fetchedAt) {
    const el = $('manifest-source');
    el.dataset.source = source;
    const when = fetchedAt ? localClock(new Date(fetchedAt)) : localClock(new Date());
    const text = {
      network: [`派送单已更新 ${when}`, 'updated'],
      revalidated: [`派送单已是最新 ${when}`, 'up to date'],
      cache: [`离线副本（${when} 取得）`, 'offline copy'],
      offline: ['离线：显示本机已有的派送单', 'offline'],
      none: ['', ''],
    }[source] || ['', ''];
    el.replaceChildren(...(text[0] ? bi(text) : []));
  }

  function showEmpty(text) {
    const el = $('empty');
    el.textContent = text;
    el.hidden = !text;
  }

  async function loadInbox() {
    if (!navigator.onLine) return;
    let resp;
    try {
      resp = await api('/inbox', { cache: 'no-store' });
    } catch (err) {
      return;
    }
    if (!resp.ok) return;
    const items = (await resp.json()).items || [];
    $('inbox-count').textContent = items.length ? `(${items.length})` : '';
    $('inbox-list').replaceChildren(
      ...items.map((m) => h('li', {}, h('time', {}, (m.created_at || '').slice(0, 16).replace('T', ' ')), ' ', m.text || m.kind)),
    );
  }

  // ---------------------------------------------------------------- rendering the route

  function renderRoute() {
    const m = state.manifest;
    state.rows = new Map();
    state.stopRows = [];
    $('stops').replaceChildren();
    $('summary').replaceChildren();
    if (!m) {
      renderStatuses();
      return;
    }
    showEmpty(m.stops.length ? '' : '本派送单没有站点。 / This route has no stops.');
    const parcels = m.stops.reduce(
      (n, s) => n + Object.values(s.deliveries_by_carrier).reduce((k, list) => k + list.length, 0) + s.pickups.length,
      0,
    );
    $('summary').append(
      h('div', { class: 'plate' }, m.plate),
      h(
        'div',
        { class: 'meta' },
        `${m.service_date} · 第${m.version}版 · ${m.stops.length}站 · ${parcels}件`,
        m.cod_to_collect_fen ? h('span', { class: 'chip cod' }, `代收 ${yuan(m.cod_to_collect_fen)}`) : null,
      ),
      h(
        'div',
        { class: 'meta' },
        m.trips.map((t) => h('span', { class: 'trip' }, `第${t.trip}趟 ${clock(t.depart)}–${clock(t.return)}`)),
      ),
    );
    for (const stop of m.stops) $('stops').append(renderStop(stop));
    renderStatuses();
  }

  function renderStop(stop) {
    const waybills = [];
    const count = h('span', { class: 'count' });
    const li = h(
      'li',
      { class: 'stop', id: `stop-${stop.seq}`, dataset: { seq: stop.seq } },
      h(
        'div',
        { class: 'stop-head' },
        h('span', { class: 'seq' }, stop.seq),
        h(
          'div',
          { class: 'stop-title' },
          h('div', { class: 'station' }, stop.station_name),
          h('div', { class: 'meta' }, `预计 ETA ${clock(stop.eta)} · 筐 ${stop.crate} · 第${stop.trip}趟`),
          h(
            'div',
            { class: 'flags' },
            stop.cold_chain ? h('span', { class: 'chip cold' }, '❄ 冷链 cold') : null,
            stop.cod_to_collect_fen ? h('span', { class: 'chip cod' }, `代收 COD ${yuan(stop.cod_to_collect_fen)}`) : null,
            stop.pickups.length ? h('span', { class: 'chip pickup' }, `揽收 ${stop.pickups.length}`) : null,
            count,
          ),
        ),
      ),
    );
    for (const [brand, items] of Object.entries(stop.deliveries_by_carrier)) {
      const names = BRANDS[brand] || [brand, brand];
      li.append(
        h(
          'section',
          { class: 'carrier' },
          h('h3', {}, ...bi(names), ` · ${items.length}件`),
          h('ul', { class: 'parcels' }, items.map((item) => renderParcel(item, stop, 'delivery', waybills))),
        ),
      );
    }
    if (stop.pickups.length) {
      li.append(
        h(
          'section',
          { class: 'carrier pickups' },
          h('h3', {}, '待揽收 ', h('span', { class: 'en' }, 'Produce to pick up'), ` · ${stop.pickups.length}件`),
          h('ul', { class: 'parcels' }, stop.pickups.map((item) => renderParcel(item, stop, 'pickup', waybills))),
        ),
      );
    }
    state.stopRows.push({ li, count, waybills });
    return li;
  }

  function renderParcel(item, stop, kind, waybills) {
    waybills.push(item.waybill_no);
    const chip = h('div', { class: 'pstatus' });
    const buttons =
      kind === 'pickup'
        ? [h('button', { type: 'button', class: 'act act-pickup primary', onclick: () => pickupSheet(item) }, ...bi(['已揽收', 'Picked up']))]
        : [
            h('button', { type: 'button', class: 'act act-deliver primary', onclick: () => deliverSheet(item, stop) }, ...bi(['签收', 'Delivered'])),
            h('button', { type: 'button', class: 'act act-fail', onclick: () => failSheet(item) }, ...bi(['未妥投', 'Failed'])),
          ];
    const who = item.recipient || {};
    const li = h(
      'li',
      { class: 'parcel', dataset: { waybill: item.waybill_no } },
      h(
        'div',
        { class: 'pinfo' },
        h('div', { class: 'waybill' }, item.waybill_no, kind === 'pickup' && item.brand ? ` · ${(BRANDS[item.brand] || [item.brand])[0]}` : ''),
        h(
          'div',
          { class: 'who' },
          `${who.name || ''} ${who.phone || ''} · ${item.pieces}件 · ${(item.weight_g / 1000).toFixed(1)}kg`,
        ),
        h(
          'div',
          { class: 'flags' },
          item.cold_chain ? h('span', { class: 'chip cold' }, '❄ 冷链') : null,
          item.cod_fen ? h('span', { class: 'chip cod' }, `代收 ${yuan(item.cod_fen)}`) : null,
        ),
        chip,
      ),
      h('div', { class: 'pbtns' }, buttons),
    );
    state.rows.set(item.waybill_no, { li, chip, buttons, item, stop, kind });
    return li;
  }

  /** The phone's own view of each parcel: its latest scan here and whether the server has it. */
  function parcelStates() {
    const latest = new Map();
    for (const r of state.events) {
      if (!r.event.waybill_no || r.driver_id !== state.driverId) continue;
      const seen = latest.get(r.event.waybill_no) || {};
      seen.last = r;
      if (r.status !== 'rejected') seen.good = r;
      latest.set(r.event.waybill_no, seen);
    }
    return latest;
  }

  function renderStatuses() {
    const pending = state.events.filter((r) => r.status === 'pending').length;
    const rejected = state.events.filter((r) => r.status === 'rejected').length;
    $('pending-count').textContent = String(pending);
    $('sync').classList.toggle('zero', pending === 0);
    $('rejected-count').textContent = String(rejected);
    $('rejected-badge').hidden = rejected === 0;

    const states = parcelStates();
    for (const [waybill, row] of state.rows) {
      const seen = states.get(waybill);
      let done = false;
      row.chip.replaceChildren();
      row.li.classList.remove('done', 'failed', 'rejected');
      if (seen) {
        const shown = seen.last.status === 'rejected' ? seen.last : seen.good;
        const [zh, en] = TYPES[shown.event.type];
        const sync = SYNC_LABEL[shown.status];
        const extra = shown.event.type === 'failed' ? ` · ${reasonLabel(shown.event.reason)}` : '';
        row.chip.append(
          h('span', { class: `chip ${shown.status}` }, `${zh}${extra} · ${sync[0]}`, ' ', h('span', { class: 'en' }, `${en} ${sync[1]}`)),
        );
        if (shown.status === 'rejected') {
          row.chip.append(h('div', { class: 'error' }, `${shown.field}: ${shown.reason}`));
          row.li.classList.add('rejected');
        }
        if (seen.good && ['delivered', 'picked_up'].includes(seen.good.event.type)) done = true;
        else if (seen.good && seen.good.event.type === 'failed') row.li.classList.add('failed');
      }
      row.li.classList.toggle('done', done);
      for (const b of row.buttons) b.disabled = done;
    }
    for (const stop of state.stopRows) {
      const handled = stop.waybills.filter((w) => states.get(w) && states.get(w).good).length;
      stop.count.textContent = `${handled}/${stop.waybills.length} 已处理`;
      stop.li.classList.toggle('complete', handled === stop.waybills.length && handled > 0);
    }
    renderRouteButtons();
    renderLog();
  }

  function routeEvent(type) {
    if (!state.manifest) return null;
    return state.events.find(
      (r) => r.manifest_id === state.manifest.manifest_id && r.event.type === type && r.status !== 'rejected',
    );
  }

  function renderRouteButtons() {
    const start = routeEvent('route_start');
    const end = routeEvent('route_end');
    const startBtn = $('route-start');
    const endBtn = $('route-end');
    startBtn.disabled = !state.manifest || !!start;
    endBtn.disabled = !state.manifest || !start || !!end;
    startBtn.replaceChildren(...bi(start ? [`已出车 ${localClock(new Date(start.event.occurred_at))}`, 'started'] : ['出车', 'Start route']));
    endBtn.replaceChildren(...bi(end ? [`已收车 ${localClock(new Date(end.event.occurred_at))}`, 'ended'] : ['收车', 'End route']));
  }

  function reasonLabel(code) {
    const found = REASONS.find((r) => r[0] === code);
    return found ? found[1] : code;
  }

  function renderLog() {
    const items = state.events.slice(-200).reverse();
    $('log-list').replaceChildren(
      ...items.map((r) => {
        const [zh, en] = TYPES[r.event.type] || [r.event.type, r.event.type];
        const sync = SYNC_LABEL[r.status];
        const other = r.driver_id !== state.driverId ? ' · 另一位司机的记录 / another driver' : '';
        const detail =
          r.status === 'rejected'
            ? `${r.field}: ${r.reason}`
            : r.status === 'synced' && r.result === 'duplicate'
              ? '服务器已有 / already there'
              : '';
        return h(
          'li',
          { class: `log-item ${r.status}`, dataset: { eventId: r.event.event_id, status: r.status } },
          h('time', {}, localClock(new Date(r.event.occurred_at))),
          ' ',
          `${zh} ${r.event.waybill_no || ''}`,
          ' ',
          h('span', { class: `chip ${r.status}` }, `${sync[0]} ${sync[1]}`),
          detail ? h('div', { class: r.status === 'rejected' ? 'error' : 'small' }, detail) : null,
          other ? h('div', { class: 'small' }, other) : null,
          h('span', { class: 'visually-hidden' }, en),
        );
      }),
    );
  }

  // ---------------------------------------------------------------- sheets (dialogs)

  function openSheet(title, body, confirm, onConfirm) {
    const dialog = $('sheet');
    const error = h('p', { class: 'error', role: 'alert', hidden: true });
    const ok = h('button', { type: 'submit', class: 'big primary', id: 'sheet-confirm' }, ...bi(confirm));
    const form = h(
      'form',
      {
        novalidate: true,
        onsubmit: async (e) => {
          e.preventDefault();
          error.hidden = true;
          ok.disabled = true;
          try {
            const problem = await onConfirm(form);
            if (problem) {
              error.textContent = problem;
              error.hidden = false;
            } else {
              dialog.close();
            }
          } catch (err) {
            error.textContent = `未能记录 / not recorded: ${err.message || err}`;
            error.hidden = false;
          } finally {
            ok.disabled = false;
          }
        },
      },
      h('h2', {}, title),
      body,
      error,
      h(
        'div',
        { class: 'sheet-buttons' },
        h('button', { type: 'button', class: 'big', id: 'sheet-cancel', onclick: () => dialog.close() }, ...bi(['取消', 'Cancel'])),
        ok,
      ),
    );
    if (dialog.open) dialog.close();
    dialog.replaceChildren(form);
    dialog.showModal();
  }

  function parcelLine(item) {
    const who = item.recipient || {};
    return h('p', { class: 'sheet-parcel' }, h('strong', {}, item.waybill_no), ` ${who.name || ''} ${who.phone || ''}`);
  }

  function deliverSheet(item, stop) {
    // A station or locker the recipient chose when ordering is their consent on file: preselected, ticked.
    const preferred = item.consent_on_file && HANDOVER[item.delivery_preference] ? item.delivery_preference : null;
    const tick = h('input', { type: 'checkbox', id: 'consent', checked: Boolean(preferred) });
    const consent = h(
      'label',
      { class: 'choice consent', hidden: !preferred },
      tick,
      preferred ? ' 收件人下单时已选择并同意 ' : ' 收件人已同意放在驿站/快递柜 ',
      h('span', { class: 'en' }, preferred ? 'Consent on file' : 'Recipient agreed'),
    );
    const handover = h(
      'fieldset',
      {
        class: 'choices',
        onchange: (e) => {
          if (e.target.name !== 'handover') return;
          consent.hidden = e.target.value === 'recipient';
          tick.checked = e.target.value === preferred;
        },
      },
      h('legend', {}, ...bi(['交给', 'Handed to'])),
      Object.entries(HANDOVER).map(([value, label], i) =>
        h(
          'label',
          { class: 'choice' },
          h('input', { type: 'radio', name: 'handover', value, checked: preferred ? value === preferred : i === 0 }),
          ' ',
          ...bi(label),
        ),
      ),
    );
    const code = h('input', { id: 'proof-code', maxlength: 32, autocomplete: 'off', spellcheck: 'false' });
    const signer = h('input', { id: 'proof-signer', maxlength: 40, autocomplete: 'off' });
    const body = h(
      'div',
      {},
      parcelLine(item),
      item.cod_fen ? h('p', { class: 'chip cod' }, `请收代收款 Collect COD ${yuan(item.cod_fen)}`) : null,
      handover,
      consent,
      h('label', { for: 'proof-code' }, ...bi(['取件码', 'Pickup code'])),
      code,
      state.canHash ? [h('label', { for: 'proof-signer' }, ...bi(['签收人姓名', 'Signed by'])), signer] : null,
      h('p', { class: 'small' }, `${stop.station_name} · ${state.canHash ? '取件码或签收人至少填一项' : '请填取件码'}`),
    );
    openSheet(bi(['签收', 'Delivered']), body, ['确认签收', 'Confirm'], async (form) => {
      const to = form.querySelector('input[name=handover]:checked').value;
      const agreed = form.querySelector('#consent').checked;
      const pickup = code.value.trim();
      const name = signer.value.trim();
      if (to !== 'recipient' && !agreed) return '放在驿站或快递柜须经收件人同意 / the recipient must agree';
      if (to === 'recipient' && !pickup && !name) return '请填取件码或签收人 / enter a pickup code or who signed';
      const proof = {};
      if (pickup) proof.pickup_code = pickup;
      // The API keeps a digest of a signature, not the name itself.
      if (name) proof.signature_sha256 = await sha256hex(name.normalize('NFC'));
      const event = { waybill_no: item.waybill_no, type: 'delivered' };
      if (Object.keys(proof).length) event.proof = proof;
      if (to !== 'recipient') event.handover = { to, consent: true };
      await record(event);
      return null;
    });
  }

  function failSheet(item) {
    const body = h(
      'div',
      {},
      parcelLine(item),
      h(
        'fieldset',
        { class: 'choices' },
        h('legend', {}, ...bi(['原因', 'Reason'])),
        REASONS.map(([value, zh, en]) =>
          h('label', { class: 'choice' }, h('input', { type: 'radio', name: 'reason', value }), ' ', zh, ' ', h('span', { class: 'en' }, en)),
        ),
      ),
    );
    openSheet(bi(['未妥投', 'Failed delivery']), body, ['确认', 'Confirm'], async (form) => {
      const chosen = form.querySelector('input[name=reason]:checked');
      if (!chosen) return '请选择原因 / choose a reason';
      await record({ waybill_no: item.waybill_no, type: 'failed', reason: chosen.value });
      return null;
    });
  }

  function pickupSheet(item) {
    openSheet(bi(['揽收', 'Pick up']), h('div', {}, parcelLine(item)), ['确认已揽收', 'Confirm'], async () => {
      await record({ waybill_no: item.waybill_no, type: 'picked_up' });
      return null;
    });
  }

  function routeEndSheet() {
    openSheet(
      bi(['收车', 'End route']),
      h('p', {}, '确认结束本趟派送？结束后不能再改。 ', h('span', { class: 'en' }, 'End the route? This cannot be undone.')),
      ['确认收车', 'End route'],
      async () => {
        await record({ type: 'route_end' });
        return null;
      },
    );
  }

  // ---------------------------------------------------------------- finding a parcel

  function find(text) {
    const q = String(text || '').replace(/\s+/g, '').toUpperCase();
    const out = $('find-result');
    out.replaceChildren();
    out.className = 'find-result';
    if (!q) return;
    const all = [...state.rows.keys()];
    let hits = all.filter((w) => w.toUpperCase() === q);
    if (!hits.length && q.length >= 4) hits = all.filter((w) => w.toUpperCase().endsWith(q));
    if (hits.length === 1) {
      const row = state.rows.get(hits[0]);
      focusParcel(hits[0]);
      out.append(`第${row.stop.seq}站 ${row.stop.station_name} · ${hits[0]}`);
    } else if (!hits.length) {
      out.classList.add('error');
      out.append(...bi([`${q} 不在本派送单上`, 'not on this route']));
    } else {
      out.append(
        ...bi([`${hits.length} 件相符，请多输几位`, 'several match']),
        h('div', {}, hits.slice(0, 6).map((w) => h('button', { type: 'button', class: 'link', onclick: () => focusParcel(w) }, w))),
      );
    }
  }

  function focusParcel(waybill) {
    for (const el of document.querySelectorAll('.parcel.found')) el.classList.remove('found');
    const row = state.rows.get(waybill);
    if (!row) return;
    row.li.classList.add('found');
    row.li.scrollIntoView({ block: 'center' });
    const first = row.buttons.find((b) => !b.disabled);
    if (first) first.focus({ preventScroll: true });
  }

  // ---------------------------------------------------------------- scanning (where the browser can)

  const canScan =
    'BarcodeDetector' in window && !!navigator.mediaDevices && typeof navigator.mediaDevices.getUserMedia === 'function';

  async function scan() {
    const wanted = ['code_128', 'code_39', 'code_93', 'codabar', 'ean_13', 'ean_8', 'itf', 'upc_a', 'upc_e', 'qr_code', 'data_matrix', 'pdf417'];
    let formats = wanted;
    try {
      const supported = await window.BarcodeDetector.getSupportedFormats();
      formats = wanted.filter((f) => supported.includes(f));
    } catch (err) {
      /* keep the wish list */
    }
    if (!formats.length) {
      $('scan').hidden = true;
      banner('本机不支持扫码，请输入运单号 / scanning is not supported here', 'warn');
      return;
    }
    const detector = new window.BarcodeDetector({ formats });
    let stream;
    try {
      stream = await navigator.mediaDevices.getUserMedia({ video: { facingMode: { ideal: 'environment' } }, audio: false });
    } catch (err) {
      banner(`无法打开相机 / camera unavailable (${err.name || err})`, 'warn');
      return;
    }
    const dialog = $('scanner');
    const video = $('scan-video');
    let stopped = false;
    const stop = () => {
      if (stopped) return;
      stopped = true;
      for (const track of stream.getTracks()) track.stop();
      video.srcObject = null;
      if (dialog.open) dialog.close();
    };
    dialog.addEventListener('close', stop, { once: true });
    video.srcObject = stream;
    dialog.showModal();
    try {
      await video.play();
    } catch (err) {
      stop();
      return;
    }
    const tick = async () => {
      if (stopped) return;
      try {
        const codes = await detector.detect(video);
        const hit = codes.find((c) => c.rawValue && c.rawValue.trim());
        if (hit) {
          stop();
          $('find-input').value = hit.rawValue.trim();
          find(hit.rawValue);
          return;
        }
      } catch (err) {
        /* a frame that could not be read: try the next */
      }
      setTimeout(tick, 200);
    };
    tick();
  }

  // ---------------------------------------------------------------- signing in and out

  function showSignin(message) {
    $('signin').hidden = false;
    $('route').hidden = true;
    const err = $('signin-error');
    err.textContent = message || '';
    err.hidden = !message;
  }

  function showRoute() {
    $('signin').hidden = true;
    $('route').hidden = false;
  }

  async function signIn(raw) {
    const token = raw.replace(/\s+/g, '');
    if (!token.startsWith('gpt_')) {
      showSignin('令牌应以 gpt_ 开头 / a shift token starts with gpt_');
      return;
    }
    if (token !== localStorage.getItem(KEYS.token)) await dropManifestCopy();
    state.token = token;
    state.authFailed = false;
    state.etag = null;
    // Until this token's manifest names its driver, send no queued scan: they may be another driver's.
    state.driverId = null;
    localStorage.removeItem(KEYS.driver);
    localStorage.setItem(KEYS.token, token);
    $('token').value = '';
    banner('');
    showRoute();
    await loadManifest();
    if (state.token) flush();
  }

  /** The server refused the token (unknown, expired, revoked, or bound to another phone). */
  function signedOutByServer() {
    state.authFailed = true;
    state.token = null;
    localStorage.removeItem(KEYS.token);
    setManifest(null, null);
    dropManifestCopy();
    showSignin('登录失效：令牌无效、已过期，或已在另一台手机上使用。请向调度要新令牌。未同步的记录仍保留在本机。 / Token refused: ask the desk for a new one; unsent scans stay on this phone.');
  }

  async function dropManifestCopy() {
    if (window.caches) {
      try {
        await caches.delete(MANIFEST_CACHE);
      } catch (err) {
        /* nothing to drop */
      }
    }
  }

  async function signOut(force) {
    const pending = state.events.filter((r) => r.status === 'pending').length;
    if (pending && !force) {
      openSheet(
        bi(['退出登录', 'Sign out']),
        h('p', {}, `还有 ${pending} 条记录未同步。它们会留在本机，同一位司机再次登录后继续同步。 `, h('span', { class: 'en' }, `${pending} scans not sent yet; they stay on this phone.`)),
        ['仍然退出', 'Sign out'],
        async () => {
          await signOut(true);
          return null;
        },
      );
      return;
    }
    state.token = null;
    localStorage.removeItem(KEYS.token);
    await dropManifestCopy();
    setManifest(null, null);
    $('offline-ready').hidden = true;
    showSource('none');
    showSignin();
  }

  // ---------------------------------------------------------------- network state and the service worker

  function renderNet() {
    const online = navigator.onLine;
    const el = $('net');
    el.dataset.online = online ? 'yes' : 'no';
    el.replaceChildren(...bi(online ? ['在线', 'online'] : ['离线', 'offline']));
  }

  function registerServiceWorker() {
    if (!('serviceWorker' in navigator)) return;
    const hadController = !!navigator.serviceWorker.controller;
    navigator.serviceWorker.addEventListener('controllerchange', () => {
      if (hadController) {
        banner(
          [h('button', { type: 'button', class: 'link', onclick: () => location.reload() }, '新版本已就绪，点此刷新'), ' ', h('span', { class: 'en' }, 'new version: tap to reload')],
          'warn',
        );
      }
      // Fetch again through the worker, which keeps a copy for offline use.
      if (state.token) loadManifest();
    });
    navigator.serviceWorker.register('/driver/sw.js', { scope: '/driver' }).catch((err) => {
      banner(`离线功能不可用 / offline support unavailable: ${err.message || err}`, 'warn');
    });
  }

  // ---------------------------------------------------------------- start

  async function boot() {
    state.deviceId = localStorage.getItem(KEYS.device);
    if (!state.deviceId) {
      state.deviceId = `web-${uuid4()}`;
      localStorage.setItem(KEYS.device, state.deviceId);
    }
    $('device-id').textContent = state.deviceId;
    $('device-id-2').textContent = state.deviceId;
    state.token = localStorage.getItem(KEYS.token);
    state.driverId = localStorage.getItem(KEYS.driver);

    $('signin-form').addEventListener('submit', (e) => {
      e.preventDefault();
      signIn($('token').value);
    });
    $('signout').addEventListener('click', () => signOut(false));
    $('sync').addEventListener('click', () => {
      state.authFailed = false;
      flush();
      if (state.token && navigator.onLine) loadManifest();
    });
    $('route-start').addEventListener('click', () => record({ type: 'route_start' }).catch((err) => banner(String(err.message || err), 'error')));
    $('route-end').addEventListener('click', routeEndSheet);
    $('find-form').addEventListener('submit', (e) => {
      e.preventDefault();
      find($('find-input').value);
    });
    $('scan').hidden = !canScan;
    $('scan').addEventListener('click', scan);
    $('scan-close').addEventListener('click', () => $('scanner').close());
    window.addEventListener('online', () => {
      renderNet();
      flush();
      if (state.token) loadManifest();
    });
    window.addEventListener('offline', renderNet);
    document.addEventListener('visibilitychange', () => {
      if (document.visibilityState === 'visible') flush();
    });

    renderNet();
    registerServiceWorker();
    try {
      await reloadQueue();
    } catch (err) {
      banner('本机无法保存离线记录（IndexedDB 不可用） / this browser cannot keep scans offline', 'error');
    }
    if (state.token) {
      showRoute();
      await loadManifest();
      flush();
    } else {
      showSignin();
    }
    setInterval(flush, FLUSH_EVERY_MS);
    setInterval(() => {
      if (state.token && navigator.onLine) loadManifest();
    }, REFRESH_EVERY_MS);
  }

  boot();
})();
