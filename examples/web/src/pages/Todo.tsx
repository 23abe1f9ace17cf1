// Seed 001: register and log in with the session views, then a todo list.
import { useEffect, useState } from 'react';
import { Link, useNavigate } from 'react-router';
import { ApiError, expectOk, json, messageOf } from '../api';
import * as session from '../session';
import { ActionForm, ErrorLine, Field, useAction } from '../ui';

interface Task {
  id: number;
  title: string;
  completed: boolean;
  created_at: string;
  updated_at: string;
}

export function TodoLogin() {
  const navigate = useNavigate();
  const [username, setUsername] = useState('');
  const [password, setPassword] = useState('');
  return (
    <main>
      <h1>Log in to your todo list</h1>
      <ActionForm
        label="Log in"
        submit="Log in"
        busy="Logging in…"
        action={async () => {
          await session.login(username, password);
          navigate('/todo');
        }}
      >
        <Field label="Username" name="username" value={username} onChange={setUsername} autoComplete="username" />
        <Field label="Password" name="password" type="password" value={password} onChange={setPassword} autoComplete="current-password" />
      </ActionForm>
      <p>
        No account? <Link to="/todo/register">Register</Link>
      </p>
    </main>
  );
}

export function TodoRegister() {
  const navigate = useNavigate();
  const [username, setUsername] = useState('');
  const [password, setPassword] = useState('');
  const [confirm, setConfirm] = useState('');
  return (
    <main>
      <h1>Create a todo account</h1>
      <ActionForm
        label="Register"
        submit="Register"
        busy="Creating your account…"
        action={async () => {
          if (password !== confirm) throw new Error("Passwords don't match");
          await session.register(username, password, confirm);
          navigate('/todo');
        }}
      >
        <Field label="Username" name="username" value={username} onChange={setUsername} autoComplete="username" />
        <Field label="Password" name="password" type="password" value={password} onChange={setPassword} autoComplete="new-password" />
        <Field label="Confirm password" name="confirm_password" type="password" value={confirm} onChange={setConfirm} autoComplete="new-password" />
      </ActionForm>
      <p>
        Have an account? <Link to="/todo/login">Log in</Link>
      </p>
    </main>
  );
}

async function tasks<T>(path: string, init: RequestInit = {}): Promise<T> {
  return expectOk<T>(await session.sessionFetch(path, init));
}

function lockedOut(error: unknown): boolean {
  return error instanceof ApiError && (error.status === 401 || error.status === 403);
}

export function TodoDashboard() {
  const navigate = useNavigate();
  const [list, setList] = useState<Task[] | null>(null);
  const [loadError, setLoadError] = useState<string | null>(null);
  const [title, setTitle] = useState('');
  const [error, run] = useAction();

  useEffect(() => {
    let live = true;
    tasks<Task[]>('/api/tasks/')
      .then((found) => live && setList(found))
      .catch((failure: unknown) => {
        if (!live) return;
        if (lockedOut(failure)) navigate('/todo/login', { replace: true });
        else setLoadError(messageOf(failure));
      });
    return () => {
      live = false;
    };
  }, [navigate]);

  const replace = (task: Task) => setList((old) => (old ?? []).map((t) => (t.id === task.id ? task : t)));

  return (
    <main>
      <header className="bar">
        <h1>My tasks</h1>
        <button
          type="button"
          onClick={() =>
            run(async () => {
              await session.logout();
              navigate('/todo/login');
            })
          }
        >
          Log out
        </button>
      </header>
      <ErrorLine error={loadError ?? error} />
      <ActionForm
        label="Add a task"
        submit="Add task"
        busy="Adding…"
        className="inline"
        action={async () => {
          const task = await tasks<Task>('/api/tasks/', json('POST', { title }));
          setList((old) => [...(old ?? []), task]);
          setTitle('');
        }}
      >
        <Field label="New task" name="title" value={title} onChange={setTitle} />
      </ActionForm>
      {list === null && !loadError && <p className="muted">Loading tasks…</p>}
      {list !== null && list.length === 0 && <p className="muted">Nothing to do.</p>}
      <ul className="tasks">
        {list?.map((task) => (
          <TaskRow
            key={task.id}
            task={task}
            onChanged={replace}
            onDeleted={() => setList((old) => (old ?? []).filter((t) => t.id !== task.id))}
          />
        ))}
      </ul>
    </main>
  );
}

function TaskRow(props: { task: Task; onChanged: (task: Task) => void; onDeleted: () => void }) {
  const { task } = props;
  const [editing, setEditing] = useState(false);
  const [title, setTitle] = useState(task.title);
  const [error, run] = useAction();
  const path = `/api/tasks/${task.id}/`;
  return (
    <li className={task.completed ? 'task done' : 'task'} data-task={task.title}>
      {editing ? (
        <ActionForm
          label={`Edit ${task.title}`}
          submit="Save"
          busy="Saving…"
          className="inline"
          action={async () => {
            props.onChanged(await tasks<Task>(path, json('PATCH', { title })));
            setEditing(false);
          }}
        >
          <Field label="Title" name={`title-${task.id}`} value={title} onChange={setTitle} />
        </ActionForm>
      ) : (
        <>
          <label>
            <input
              type="checkbox"
              checked={task.completed}
              onChange={(e) => {
                const completed = e.target.checked;
                run(async () => props.onChanged(await tasks<Task>(path, json('PATCH', { completed }))));
              }}
            />{' '}
            <span className="title">{task.title}</span>
          </label>
          <button type="button" onClick={() => setEditing(true)}>
            Edit
          </button>
          <button
            type="button"
            onClick={() =>
              run(async () => {
                await tasks<null>(path, { method: 'DELETE' });
                props.onDeleted();
              })
            }
          >
            Delete
          </button>
        </>
      )}
      <ErrorLine error={error} />
    </li>
  );
}
