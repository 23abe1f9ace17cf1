// Seed 002: register, log in for a JWT pair, and the blog: everyone reads, the
// author edits and deletes; logging out blacklists the refresh token.
import { useEffect, useState } from 'react';
import { Link, useNavigate } from 'react-router';
import { expectOk, json, messageOf, send } from '../api';
import { blogAuth, isLoggedOut } from '../jwt';
import { ActionForm, ErrorLine, Field, useAction } from '../ui';

interface Post {
  id: number;
  title: string;
  content: string;
  author: string;
  created_at: string;
  updated_at: string;
}

export function BlogLogin({ register = false }: { register?: boolean }) {
  const navigate = useNavigate();
  const [username, setUsername] = useState('');
  const [password, setPassword] = useState('');
  return (
    <main>
      <h1>{register ? 'Register to write' : 'Log in to the blog'}</h1>
      <ActionForm
        label={register ? 'Register' : 'Log in'}
        submit={register ? 'Register' : 'Log in'}
        busy={register ? 'Registering…' : 'Logging in…'}
        action={async () => {
          if (register) {
            await expectOk(await send('/api/user/register/', json('POST', { username, password })));
          }
          const pair = await expectOk<{ access: string; refresh: string }>(
            await send('/api/token/', json('POST', { username, password })),
          );
          blogAuth.start(username, pair);
          navigate('/blog');
        }}
      >
        <Field label="Username" name="username" value={username} onChange={setUsername} autoComplete="username" />
        <Field
          label="Password"
          name="password"
          type="password"
          value={password}
          onChange={setPassword}
          autoComplete={register ? 'new-password' : 'current-password'}
        />
      </ActionForm>
      <p>
        {register ? (
          <>
            Have an account? <Link to="/blog/login">Log in</Link>
          </>
        ) : (
          <>
            No account? <Link to="/blog/register">Register</Link>
          </>
        )}
      </p>
    </main>
  );
}

export function BlogPosts() {
  const navigate = useNavigate();
  const [posts, setPosts] = useState<Post[] | null>(null);
  const [loadError, setLoadError] = useState<string | null>(null);
  const [title, setTitle] = useState('');
  const [content, setContent] = useState('');
  const [error, run] = useAction();
  const [username, setUsername] = useState(blogAuth.username);
  useEffect(() => blogAuth.subscribe(() => setUsername(blogAuth.username)), []);

  useEffect(() => {
    let live = true;
    // reading needs no login
    send('/api/blogposts/')
      .then((r) => expectOk<Post[]>(r))
      // newest first, as new posts are shown
      .then((found) => live && setPosts([...found].sort((a, b) => b.id - a.id)))
      .catch((failure: unknown) => live && setLoadError(messageOf(failure)));
    return () => {
      live = false;
    };
  }, []);

  const guarded = async <T,>(work: () => Promise<T>): Promise<T> => {
    try {
      return await work();
    } catch (failure) {
      if (isLoggedOut(failure)) {
        blogAuth.end();
        navigate('/blog/login');
      }
      throw failure;
    }
  };

  return (
    <main>
      <header className="bar">
        <h1>Blog</h1>
        {username ? (
          <>
            <span className="muted">Signed in as {username}</span>
            <button
              type="button"
              onClick={() =>
                run(async () => {
                  const refresh = blogAuth.refreshToken;
                  if (refresh) await send('/api/user/logout/', json('POST', { refresh }));
                  blogAuth.end();
                })
              }
            >
              Log out
            </button>
          </>
        ) : (
          <Link to="/blog/login">Log in to write</Link>
        )}
      </header>
      <ErrorLine error={loadError ?? error} />
      {username && (
        <ActionForm
          label="New post"
          submit="Publish"
          busy="Publishing…"
          action={() =>
            guarded(async () => {
              const post = await blogAuth.request<Post>('/api/blogposts/', json('POST', { title, content }));
              setPosts((old) => [post, ...(old ?? [])]);
              setTitle('');
              setContent('');
            })
          }
        >
          <Field label="Title" name="title" value={title} onChange={setTitle} />
          <TextArea label="Content" name="content" value={content} onChange={setContent} />
        </ActionForm>
      )}
      {posts === null && !loadError && <p className="muted">Loading posts…</p>}
      {posts !== null && posts.length === 0 && <p className="muted">No posts yet.</p>}
      {posts?.map((post) => (
        <PostView
          key={post.id}
          post={post}
          mine={post.author === username}
          guarded={guarded}
          onChanged={(changed) => setPosts((old) => (old ?? []).map((p) => (p.id === changed.id ? changed : p)))}
          onDeleted={() => setPosts((old) => (old ?? []).filter((p) => p.id !== post.id))}
        />
      ))}
    </main>
  );
}

function TextArea(props: { label: string; name: string; value: string; onChange: (value: string) => void }) {
  const id = `field-${props.name}`;
  return (
    <p className="field">
      <label htmlFor={id}>{props.label}</label>
      <textarea id={id} name={props.name} value={props.value} rows={4} required onChange={(e) => props.onChange(e.target.value)} />
    </p>
  );
}

function PostView(props: {
  post: Post;
  mine: boolean;
  guarded: <T>(work: () => Promise<T>) => Promise<T>;
  onChanged: (post: Post) => void;
  onDeleted: () => void;
}) {
  const { post } = props;
  const [editing, setEditing] = useState(false);
  const [title, setTitle] = useState(post.title);
  const [content, setContent] = useState(post.content);
  const [error, run] = useAction();
  const path = `/api/blogposts/${post.id}/`;
  return (
    <article className="post" data-post={post.title}>
      {editing ? (
        <ActionForm
          label={`Edit ${post.title}`}
          submit="Save"
          busy="Saving…"
          action={() =>
            props.guarded(async () => {
              props.onChanged(await blogAuth.request<Post>(path, json('PUT', { title, content })));
              setEditing(false);
            })
          }
        >
          <Field label="Title" name={`title-${post.id}`} value={title} onChange={setTitle} />
          <TextArea label="Content" name={`content-${post.id}`} value={content} onChange={setContent} />
        </ActionForm>
      ) : (
        <>
          <h2>{post.title}</h2>
          <p className="muted">
            by {post.author}, {new Date(post.created_at).toLocaleString()}
          </p>
          <p className="content">{post.content}</p>
          {props.mine && (
            <p>
              <button type="button" onClick={() => setEditing(true)}>
                Edit
              </button>{' '}
              <button
                type="button"
                onClick={() =>
                  run(() =>
                    props.guarded(async () => {
                      await blogAuth.request<null>(path, { method: 'DELETE' });
                      props.onDeleted();
                    }),
                  )
                }
              >
                Delete
              </button>
            </p>
          )}
        </>
      )}
      <ErrorLine error={error} />
    </article>
  );
}
