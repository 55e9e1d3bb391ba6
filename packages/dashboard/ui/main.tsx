// The single-page app: a hash router (so the server serves one page under any base path) over
// five pages. The session says whether actions are on and hands out the CSRF token.
import { render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import type { SessionInfo } from '../src/api-types.js';
import { loadSession } from './api.js';
import { ErrorNote } from './components/widgets.js';
import { href, useRoute } from './hooks.js';
import { OverviewPage } from './pages/overview.js';
import { PhasePage, RunsPage } from './pages/runs.js';
import { TaskPage } from './pages/task.js';
import { TasksPage } from './pages/tasks.js';
import { TimersPage } from './pages/timers.js';
import './styles.css';

function App() {
  const [session, setSession] = useState<SessionInfo | null>(null);
  const [error, setError] = useState<Error | null>(null);
  const route = useRoute();
  useEffect(() => {
    loadSession().then(setSession, (err: unknown) => setError(err instanceof Error ? err : new Error(String(err))));
  }, []);
  const section = route.path.split('/')[1] ?? '';
  const nav = [
    ['', 'Overview'],
    ['tasks', 'Tasks'],
    ['runs', 'Runs & phases'],
    ['timers', 'Timers'],
  ] as const;
  return (
    <>
      <header class="top">
        <a class="brand" href="#/">
          Baton
        </a>
        <nav>
          {nav.map(([path, label]) => (
            <a key={path} href={`#/${path}`} class={section === path || (path === 'tasks' && section === 'task') || (path === 'runs' && section === 'phase') ? 'active' : ''}>
              {label}
            </a>
          ))}
        </nav>
        {session && (
          <span class="session">
            {session.backend} · {session.actions ? 'actions on' : 'read-only'}
          </span>
        )}
      </header>
      <main>
        <ErrorNote error={error} />
        {session && <Page route={route} session={session} />}
      </main>
      <footer>{session ? `@baton/dashboard ${session.version}` : ''}</footer>
    </>
  );
}

function Page({ route, session }: { route: ReturnType<typeof useRoute>; session: SessionInfo }) {
  const parts = route.path.split('/').filter((p) => p !== '');
  const id = parts[1] === undefined ? null : decodeURIComponent(parts[1]);
  switch (parts[0]) {
    case undefined:
      return <OverviewPage session={session} />;
    case 'tasks':
      return <TasksPage session={session} params={route.params} />;
    case 'task':
      return id === null ? <NotFound /> : <TaskPage session={session} id={id} />;
    case 'runs':
      return <RunsPage session={session} params={route.params} />;
    case 'phase':
      return id === null ? <NotFound /> : <PhasePage session={session} id={id} />;
    case 'timers':
      return <TimersPage session={session} />;
    default:
      return <NotFound />;
  }
}

function NotFound() {
  return (
    <p>
      No such page. <a href={href('/')}>Back to the overview</a>.
    </p>
  );
}

render(<App />, document.getElementById('app')!);
