// Seed 000: sign up or log in for a JWT pair, then the message board with new
// messages live from /api/messages/stream.
import { useEffect, useRef, useState } from 'react';
import { Link, useNavigate } from 'react-router';
import { apiUrl, expectOk, json, messageOf, send } from '../api';
import { chatAuth, isLoggedOut } from '../jwt';
import { ActionForm, ErrorLine, Field, useAction } from '../ui';

interface Message {
  id: number;
  text: string;
  sender: string;
  timestamp: string;
}

export function ChatLogin({ signUp = false }: { signUp?: boolean }) {
  const navigate = useNavigate();
  const [username, setUsername] = useState('');
  const [password, setPassword] = useState('');
  return (
    <main>
      <h1>{signUp ? 'Sign up for messages' : 'Log in to messages'}</h1>
      <ActionForm
        label={signUp ? 'Sign up' : 'Log in'}
        submit={signUp ? 'Sign up' : 'Log in'}
        busy={signUp ? 'Signing up…' : 'Logging in…'}
        action={async () => {
          const path = signUp ? '/api/auth/signup/' : '/api/auth/token/';
          const pair = await expectOk<{ access: string; refresh: string }>(
            await send(path, json('POST', { username, password })),
          );
          chatAuth.start(username, pair);
          navigate('/chat');
        }}
      >
        <Field label="Username" name="username" value={username} onChange={setUsername} autoComplete="username" />
        <Field
          label="Password"
          name="password"
          type="password"
          value={password}
          onChange={setPassword}
          autoComplete={signUp ? 'new-password' : 'current-password'}
        />
      </ActionForm>
      <p>
        {signUp ? (
          <>
            Have an account? <Link to="/chat/login">Log in</Link>
          </>
        ) : (
          <>
            No account? <Link to="/chat/signup">Sign up</Link>
          </>
        )}
      </p>
    </main>
  );
}

type Live = 'connecting' | 'live' | 'reconnecting' | 'unavailable';

/** The last page of messages, oldest first, as the list answers them. */
async function latest(): Promise<Message[]> {
  const response = await chatAuth.fetch('/api/messages?limit=100');
  const total = Number(response.headers.get('X-Total-Count') ?? 0);
  const first = await expectOk<Message[]>(response);
  if (total <= first.length) return first;
  return chatAuth.request<Message[]>(`/api/messages?limit=100&offset=${total - 100}`);
}

export function ChatBoard() {
  const navigate = useNavigate();
  const [messages, setMessages] = useState<Message[] | null>(null);
  const [loadError, setLoadError] = useState<string | null>(null);
  const [live, setLive] = useState<Live>('connecting');
  const [text, setText] = useState('');
  const [error, run] = useAction();
  const lastId = useRef<number | null>(null);
  const liveRef = useRef<Live>('connecting');

  const leave = () => {
    chatAuth.end();
    navigate('/chat/login', { replace: true });
  };

  const show = (list: Message[]) => {
    setMessages(list);
    // an empty board resumes from the start: every message is news
    lastId.current = list.length ? list[list.length - 1].id : (lastId.current ?? 0);
  };

  useEffect(() => {
    if (!chatAuth.signedIn) {
      navigate('/chat/login', { replace: true });
      return;
    }
    let stopped = false;
    let source: EventSource | null = null;
    let retry: ReturnType<typeof setTimeout> | null = null;
    let failures = 0;
    const status = (next: Live) => {
      liveRef.current = next;
      setLive(next);
    };

    // An EventSource cannot send the Bearer token, so each connection opens with
    // a fresh single-use ticket (`null`: this backend has no stream), and resumes
    // after the last message seen.
    const getTicket = async (): Promise<string | null> => {
      const response = await chatAuth.fetch('/api/messages/stream/ticket', { method: 'POST' });
      if (response.status === 404 || response.status === 405) return null;
      return (await expectOk<{ ticket: string }>(response)).ticket;
    };
    const connect = async (pending?: Promise<string | null>) => {
      if (stopped) return;
      try {
        const ticket = await (pending ?? getTicket());
        if (ticket === null) {
          status('unavailable');
          return;
        }
        if (stopped) return;
        const params = new URLSearchParams({ ticket });
        if (lastId.current !== null) params.set('last_event_id', String(lastId.current));
        source = new EventSource(apiUrl(`/api/messages/stream?${params}`));
        source.onopen = () => {
          failures = 0;
          status('live');
        };
        source.addEventListener('message', (event) => {
          const { data, lastEventId } = event as MessageEvent<string>;
          const message = JSON.parse(data) as Message;
          // where to resume: the SSE id, which never moves back (a message that
          // commits after a newer one carries the newer id)
          lastId.current = Number(lastEventId) || message.id;
          setMessages((old) => [...(old ?? []), message]);
        });
        source.onerror = () => {
          // the ticket was used: reconnect with a new one rather than let the
          // browser retry with this URL
          source?.close();
          source = null;
          again();
        };
      } catch (failure) {
        if (isLoggedOut(failure)) {
          if (!stopped) leave();
          return;
        }
        again();
      }
    };
    const again = () => {
      if (stopped) return;
      status('reconnecting');
      failures += 1;
      const delay = Math.min(500 * 2 ** Math.min(failures - 1, 4), 8000);
      retry = setTimeout(() => void connect(), delay);
    };

    // the first ticket is asked for beside the list: one round trip less, and
    // with an expired access token both requests share one refresh
    const firstTicket = getTicket();
    firstTicket.catch(() => undefined); // connect() handles it; the list may fail first
    latest()
      .then((list) => {
        if (stopped) return;
        show(list);
        void connect(firstTicket);
      })
      .catch((failure: unknown) => {
        if (stopped) return;
        if (isLoggedOut(failure)) leave();
        else setLoadError(messageOf(failure));
      });
    return () => {
      stopped = true;
      source?.close();
      if (retry) clearTimeout(retry);
    };
  }, []);

  return (
    <main>
      <header className="bar">
        <h1>Messages</h1>
        <span className="live" data-state={live} role="status">
          {
            {
              connecting: 'Connecting…',
              live: 'Live',
              reconnecting: 'Reconnecting…',
              unavailable: 'Live updates unavailable',
            }[live]
          }
        </span>
        <span className="muted">Signed in as {chatAuth.username}</span>
        <button
          type="button"
          onClick={() =>
            run(async () => {
              const refresh = chatAuth.refreshToken;
              // blacklists the refresh token, which ends this login
              if (refresh) await send('/api/user/logout/', json('POST', { refresh }));
              leave();
            })
          }
        >
          Log out
        </button>
      </header>
      <ErrorLine error={loadError ?? error} />
      {messages === null && !loadError && <p className="muted">Loading messages…</p>}
      {messages !== null && messages.length === 0 && <p className="muted">No messages yet.</p>}
      <ol className="messages" aria-label="Messages">
        {messages?.map((m) => (
          <li key={m.id} data-id={m.id}>
            <strong>{m.sender}</strong> <span className="text">{m.text}</span>{' '}
            <time dateTime={m.timestamp} className="muted">
              {new Date(m.timestamp).toLocaleTimeString()}
            </time>
          </li>
        ))}
      </ol>
      <ActionForm
        label="New message"
        submit="Send"
        busy="Sending…"
        className="inline"
        action={async () => {
          try {
            await chatAuth.request<Message>('/api/messages', json('POST', { text }));
          } catch (failure) {
            if (isLoggedOut(failure)) leave();
            throw failure;
          }
          setText('');
          // the stream brings it, also after a reconnection; without one, read again
          if (liveRef.current === 'unavailable') show(await latest());
        }}
      >
        <Field label="Message" name="text" value={text} onChange={setText} />
      </ActionForm>
    </main>
  );
}
