// A workflow's history as the API summarises it (GET /v1/payouts/:id/history, /v1/periods/:id/history),
// a page at a time, with a link to the same workflow in Temporal UI when TEMPORAL_UI_URL is set.
import { api, h, session, when } from '../lib.js';

/** `path`: the API's history route; `workflowId`: the Temporal workflow it reads. */
export function historySection(path, workflowId) {
  const body = h('tbody', {});
  const more = h('button', { type: 'button', hidden: true }, 'Load more');
  const error = h('p', { class: 'error' });
  let cursor = null;
  let last = 0;
  const load = async () => {
    const res = await api('GET', `${path}?limit=100${cursor ? `&cursor=${cursor}` : ''}`);
    if (!res.ok) {
      error.textContent = res.error;
      return;
    }
    error.textContent = '';
    for (const e of res.body.items)
      body.append(
        h(
          'tr',
          {},
          h('td', {}, e.eventId),
          h('td', {}, when(e.time)),
          h('td', {}, e.type),
          h('td', {}, e.detail),
        ),
      );
    last = res.body.items.at(-1)?.eventId ?? last;
    // At the end, the button asks for events recorded since (a running workflow goes on).
    cursor = res.body.nextCursor ?? (last ? String(last + 1) : null);
    more.textContent = res.body.nextCursor ? 'Load more' : 'Newer events';
    more.hidden = !cursor;
  };
  more.addEventListener('click', load);
  load();
  const link = session.temporalUiUrl
    ? h(
        'a',
        {
          href: `${session.temporalUiUrl.replace(/\/$/, '')}/namespaces/${encodeURIComponent(session.namespace)}/workflows/${encodeURIComponent(workflowId)}`,
          target: '_blank',
          rel: 'noopener',
          'data-testid': 'temporal-ui',
        },
        'Open in Temporal UI',
      )
    : '';
  return h(
    'section',
    { 'data-testid': 'history' },
    h('h2', {}, 'Workflow history ', h('span', { class: 'mono muted' }, workflowId), ' ', link),
    h(
      'table',
      {},
      h(
        'thead',
        {},
        h(
          'tr',
          {},
          ['#', 'Time', 'Event', 'Detail'].map((x) => h('th', {}, x)),
        ),
      ),
      body,
    ),
    more,
    error,
  );
}
