import { dataTable } from '../charts.js';
import { isoDay } from '../format.js';
import { html, type Html } from '../html.js';
import { page, type PageContext } from '../layout.js';
import { en } from '../strings.js';
import { DEVICE_NAME_MAX, type DeviceEntry } from '../../store/account-store.js';

export interface DevicesPageData {
  rows: DeviceEntry[];
  /** The key of the session viewing the page, marked in the list. */
  currentKey: string;
  /** A token just made, shown this once. */
  newToken?: { name: string; token: string };
}

export function devicesPage(ctx: PageContext & { csrf: string }, data: DevicesPageData): Html {
  // The AUTH_TOKEN device comes from the environment: only removing it there ends it.
  const revokeForm = (row: DeviceEntry): Html | string =>
    !row.fromEnvironment
      ? html`<form method="post" action="/web/devices/revoke"><input type="hidden" name="csrf" value="${ctx.csrf}"><input type="hidden" name="id" value="${row.id}"><button type="submit" aria-label="${en.devices.revoke} ${row.name}">${en.devices.revoke}</button></form>`
      : '';
  // maxlength counts UTF-16 units, the server code points: room for a name of emoji, which the server then checks.
  const nameUnits = 2 * DEVICE_NAME_MAX;
  const content = html`<p>${en.devices.intro}</p>
${data.newToken ? html`<div role="status"><p>${en.devices.newToken}</p><p>${data.newToken.name}</p><p class="token">${data.newToken.token}</p></div>` : ''}
${dataTable(
  en.devices.title,
  [en.columns.name, en.columns.kind, en.columns.created, en.columns.lastSeen, en.columns.from, en.columns.actions],
  data.rows.map((r) => [
    r.id === data.currentKey ? `${r.name} (${en.devices.thisBrowser})` : r.name,
    r.kind === 'web' ? en.devices.webSession : en.devices.device,
    isoDay(r.createdAt),
    isoDay(r.lastSeenAt),
    r.lastSeenFrom ?? '',
    revokeForm(r),
  ]),
)}
<h2>${en.devices.add}</h2>
<form class="stack" method="post" action="/web/devices/add"><input type="hidden" name="csrf" value="${ctx.csrf}"><label>${en.devices.addName}<input name="name" required maxlength="${nameUnits}" autocomplete="off"></label><button type="submit">${en.devices.addSubmit}</button></form>`;
  return page(ctx, 'devices', en.devices.title, content);
}
