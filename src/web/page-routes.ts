import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { ApiError } from '../errors.js';
import { DEVICE_NAME_MAX, deviceName } from '../store/account-store.js';
import { attemptsCsv, sessionsCsv } from './csv.js';
import { attemptIndex, type DashboardData, type DatasetView } from './dashboard-data.js';
import type { Html } from './html.js';
import type { PageContext } from './layout.js';
import { html, requireField } from './login-routes.js';
import { devicesPage } from './pages/devices.js';
import { exportPage } from './pages/export.js';
import { gymPage, gymsPage } from './pages/gyms.js';
import { overviewPage, summaryOf } from './pages/overview.js';
import { problemPage, problemsPage } from './pages/problems.js';
import { progressPage } from './pages/progress.js';
import { projectsPage } from './pages/projects.js';
import { sessionPage, sessionsPage } from './pages/sessions.js';
import { pathId, type Query } from './query.js';
import type { Principal, StoreWebAuth } from './web-auth.js';
import { checkCsrf, checkSameOrigin, csrfToken } from './web-session.js';

export interface PageRouteOptions {
  data: DashboardData;
  backend: StoreWebAuth;
  now: () => number;
}

type Render = (ctx: PageContext, view: DatasetView, request: FastifyRequest<{ Params: { id: string }; Querystring: Query }>) => Html;

/** Every page is a function of the request's dataset view: the routes only fetch the view and send the markup. */
export async function pageRoutes(app: FastifyInstance, options: PageRouteOptions): Promise<void> {
  const { data, backend, now } = options;

  const context = (request: FastifyRequest): PageContext & { csrf: string } => {
    if (!request.webSession) throw new ApiError(401, 'unauthorized', 'log in at /web/login');
    return { csrf: csrfToken(request.webSession.id) };
  };
  const principal = (request: FastifyRequest): Principal => {
    if (!request.principal) throw new ApiError(401, 'unauthorized', 'log in at /web/login');
    return request.principal;
  };

  const pageRoute = (url: string, render: Render): void => {
    app.get<{ Params: { id: string }; Querystring: Query }>(url, async (request, reply) => {
      const ctx = context(request);
      const view = await data.view(principal(request).datasetId);
      return html(reply, 200, render(ctx, view, request));
    });
  };

  pageRoute('/', (ctx, view, request) => overviewPage(ctx, view, principal(request).account, now()));
  pageRoute('/progress', (ctx, view) => progressPage(ctx, view));
  pageRoute('/sessions', (ctx, view, request) => sessionsPage(ctx, view, request.query));
  pageRoute('/sessions/:id', (ctx, view, request) => sessionPage(ctx, view, pathId(request.params.id)));
  pageRoute('/problems', (ctx, view, request) => problemsPage(ctx, view, request.query));
  pageRoute('/problems/:id', (ctx, view, request) => problemPage(ctx, view, pathId(request.params.id)));
  pageRoute('/projects', (ctx, view, request) => projectsPage(ctx, view, request.query));
  pageRoute('/gyms', (ctx, view) => gymsPage(ctx, view));
  pageRoute('/gyms/:id', (ctx, view, request) => gymPage(ctx, view, pathId(request.params.id), request.query));
  pageRoute('/export', (ctx) => exportPage(ctx));

  app.get('/api/summary', async (request, reply) => {
    const p = principal(request);
    const view = await data.view(p.datasetId);
    return reply.type('application/json; charset=utf-8').send(JSON.stringify(summaryOf(view, p.account, now())));
  });

  const csv = (name: string, rows: (view: DatasetView) => Iterable<string>) =>
    app.get(`/export/${name}`, async (request, reply) => {
      const view = await data.view(principal(request).datasetId);
      return reply.type('text/csv; charset=utf-8').header('content-disposition', `attachment; filename="ascently-${name}"`).send([...rows(view)].join(''));
    });
  csv('sessions.csv', (view) => sessionsCsv(view.ds, attemptIndex(view)));
  csv('attempts.csv', (view) => attemptsCsv(view.ds));

  const devices = async (request: FastifyRequest, reply: FastifyReply, status: number, newToken?: { name: string; token: string }) => {
    const ctx = context(request);
    const p = principal(request);
    const rows = await backend.listDevices(p);
    return html(reply, status, devicesPage(ctx, { rows, currentKey: request.webSession?.session.key ?? '', newToken }));
  };
  app.get('/devices', async (request, reply) => devices(request, reply, 200));

  /** A browser's state change: same site, and the session's CSRF token. */
  const checkedPost = (request: FastifyRequest): void => {
    checkSameOrigin(request);
    if (!request.webSession) throw new ApiError(401, 'unauthorized', 'log in at /web/login');
    checkCsrf(request.webSession.id, (request.body as Record<string, unknown> | undefined)?.['csrf']);
  };

  app.post('/devices/revoke', async (request, reply) => {
    checkedPost(request);
    const id = requireField(request, 'id');
    const outcome = await backend.revoke(principal(request), id);
    if (outcome === 'from_environment') throw ApiError.badRequest("the AUTH_TOKEN device is not revoked here: it ends when AUTH_TOKEN is removed from the server's environment");
    if (outcome === 'not_found') throw ApiError.notFound('no such device');
    return reply.code(303).header('location', '/web/devices').send();
  });

  app.post('/devices/add', async (request, reply) => {
    checkedPost(request);
    const name = deviceName(requireField(request, 'name'));
    if (name === undefined) throw ApiError.badRequest(`a device name is 1-${DEVICE_NAME_MAX} characters, none a control character`);
    const made = await backend.addDevice(principal(request), name);
    if (!made) throw ApiError.notFound('the account is gone');
    // Shown in this answer only: a reload must not show the token again, so no redirect to a page that holds it.
    return devices(request, reply, 200, { name, token: made.token });
  });
}
