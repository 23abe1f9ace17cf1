// Seed 003: the music catalogue with a DRF token (`Authorization: Token ...`):
// albums, the songs of an album, adding songs (staff), liking and unliking.
import { useEffect, useState } from 'react';
import { Link, useNavigate, useParams } from 'react-router';
import { ApiError, expectOk, json, messageOf, send } from '../api';
import { ActionForm, ErrorLine, Field, useAction } from '../ui';

interface Album {
  id: number;
  name: string;
  artist: string;
  year_released: string;
}

interface Song {
  id: number;
  song_name: string;
  num_streams: number;
  album: number;
}

interface Like {
  id: number;
  user: number;
  song: number;
}

const KEY = 'hearth.music';

function stored(): { username: string; token: string } | null {
  try {
    const value = JSON.parse(localStorage.getItem(KEY) ?? 'null');
    return value && typeof value.token === 'string' ? value : null;
  } catch {
    return null;
  }
}

async function music<T>(path: string, init: RequestInit = {}): Promise<T> {
  const headers = new Headers(init.headers);
  const login = stored();
  if (login) headers.set('Authorization', `Token ${login.token}`);
  return expectOk<T>(await send(path, { ...init, headers, credentials: 'omit' }));
}

function useSignedOut() {
  const navigate = useNavigate();
  return (failure: unknown) => {
    if (failure instanceof ApiError && failure.status === 401) {
      localStorage.removeItem(KEY);
      navigate('/catalogue/login');
    }
  };
}

export function CatalogueLogin({ register = false }: { register?: boolean }) {
  const navigate = useNavigate();
  const [username, setUsername] = useState('');
  const [password, setPassword] = useState('');
  return (
    <main>
      <h1>{register ? 'Join the music catalogue' : 'Log in to the music catalogue'}</h1>
      <ActionForm
        label={register ? 'Register' : 'Log in'}
        submit={register ? 'Register' : 'Log in'}
        busy={register ? 'Registering…' : 'Logging in…'}
        action={async () => {
          localStorage.removeItem(KEY);
          if (register) await music('/music/register', json('POST', { username, password }));
          const { token } = await music<{ token: string }>('/api-token-auth/', json('POST', { username, password }));
          localStorage.setItem(KEY, JSON.stringify({ username, token }));
          navigate('/catalogue');
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
            Have an account? <Link to="/catalogue/login">Log in</Link>
          </>
        ) : (
          <>
            No account? <Link to="/catalogue/register">Register</Link>
          </>
        )}
      </p>
    </main>
  );
}

function Account() {
  const navigate = useNavigate();
  const login = stored();
  if (!login) return <Link to="/catalogue/login">Log in to like songs</Link>;
  return (
    <>
      <span className="muted">Signed in as {login.username}</span>
      <button
        type="button"
        onClick={() => {
          localStorage.removeItem(KEY);
          navigate('/catalogue/login');
        }}
      >
        Log out
      </button>
    </>
  );
}

export function Albums() {
  const signedOut = useSignedOut();
  const [albums, setAlbums] = useState<Album[] | null>(null);
  const [loadError, setLoadError] = useState<string | null>(null);
  const [name, setName] = useState('');
  const [artist, setArtist] = useState('');
  const [year, setYear] = useState('');

  useEffect(() => {
    let live = true;
    music<Album[]>('/music/album')
      .then((found) => live && setAlbums(found))
      .catch((failure: unknown) => live && setLoadError(messageOf(failure)));
    return () => {
      live = false;
    };
  }, []);

  return (
    <main>
      <header className="bar">
        <h1>Albums</h1>
        <Account />
      </header>
      <ErrorLine error={loadError} />
      {albums === null && !loadError && <p className="muted">Loading albums…</p>}
      {albums !== null && albums.length === 0 && <p className="muted">No albums yet.</p>}
      <ul className="albums">
        {albums?.map((album) => (
          <li key={album.id}>
            <Link to={`/catalogue/albums/${album.id}`}>{album.name}</Link>{' '}
            <span className="muted">
              {album.artist}, {album.year_released.slice(0, 4)}
            </span>
          </li>
        ))}
      </ul>
      {stored() && (
        <details>
          <summary>Add an album (staff)</summary>
          <ActionForm
            label="New album"
            submit="Add album"
            busy="Adding…"
            action={async () => {
              try {
                const album = await music<Album>(
                  '/music/album/create',
                  json('POST', { name, artist, year_released: year }),
                );
                setAlbums((old) => [...(old ?? []), album]);
                setName('');
                setArtist('');
                setYear('');
              } catch (failure) {
                signedOut(failure);
                throw failure;
              }
            }}
          >
            <Field label="Name" name="name" value={name} onChange={setName} />
            <Field label="Artist" name="artist" value={artist} onChange={setArtist} />
            <Field label="Released" name="year_released" type="date" value={year} onChange={setYear} />
          </ActionForm>
        </details>
      )}
    </main>
  );
}

export function AlbumSongs() {
  const { id } = useParams();
  const signedOut = useSignedOut();
  const [album, setAlbum] = useState<Album | null>(null);
  const [songs, setSongs] = useState<Song[] | null>(null);
  const [likes, setLikes] = useState<Like[]>([]);
  const [loadError, setLoadError] = useState<string | null>(null);
  const [songName, setSongName] = useState('');
  const [streams, setStreams] = useState('0');
  const [error, run] = useAction();
  const signedIn = stored() !== null;

  useEffect(() => {
    let live = true;
    const albumId = encodeURIComponent(id ?? '');
    Promise.all([
      music<Album>(`/music/album/${albumId}`),
      music<Song[]>(`/music/songInAlbum?album=${albumId}`),
      signedIn ? music<Like[]>('/music/likes') : Promise.resolve([]),
    ])
      .then(([foundAlbum, foundSongs, foundLikes]) => {
        if (!live) return;
        setAlbum(foundAlbum);
        setSongs(foundSongs);
        setLikes(foundLikes);
      })
      .catch((failure: unknown) => {
        if (!live) return;
        signedOut(failure);
        setLoadError(messageOf(failure));
      });
    return () => {
      live = false;
    };
  }, [id, signedIn]);

  const likeOf = (song: Song) => likes.find((like) => like.song === song.id);

  return (
    <main>
      <header className="bar">
        <h1>{album ? album.name : 'Album'}</h1>
        <Account />
      </header>
      <p>
        <Link to="/catalogue">All albums</Link>
      </p>
      {album && (
        <p className="muted">
          {album.artist}, released {album.year_released}
        </p>
      )}
      <ErrorLine error={loadError ?? error} />
      {songs === null && !loadError && <p className="muted">Loading songs…</p>}
      {songs !== null && songs.length === 0 && <p className="muted">No songs on this album yet.</p>}
      <ul className="songs">
        {songs?.map((song) => {
          const like = likeOf(song);
          return (
            <li key={song.id} data-song={song.song_name}>
              <span className="title">{song.song_name}</span>{' '}
              <span className="muted">{song.num_streams.toLocaleString('en')} streams</span>{' '}
              {signedIn && (
                <button
                  type="button"
                  aria-pressed={like !== undefined}
                  onClick={() =>
                    run(async () => {
                      try {
                        if (like) {
                          await music<null>(`/music/likes/${like.id}`, { method: 'DELETE' });
                          setLikes((old) => old.filter((l) => l.id !== like.id));
                        } else {
                          const made = await music<Like>('/music/likes', json('POST', { song: song.id }));
                          setLikes((old) => [...old, made]);
                        }
                      } catch (failure) {
                        signedOut(failure);
                        throw failure;
                      }
                    })
                  }
                >
                  {like ? '♥ Liked' : '♡ Like'}
                </button>
              )}
            </li>
          );
        })}
      </ul>
      {signedIn && album && (
        <details>
          <summary>Add a song (staff)</summary>
          <ActionForm
            label="New song"
            submit="Add song"
            busy="Adding…"
            action={async () => {
              try {
                const song = await music<Song>(
                  '/music/song/create',
                  json('POST', { song_name: songName, album: album.id, num_streams: Number(streams) }),
                );
                setSongs((old) => [...(old ?? []), song]);
                setSongName('');
                setStreams('0');
              } catch (failure) {
                signedOut(failure);
                throw failure;
              }
            }}
          >
            <Field label="Song name" name="song_name" value={songName} onChange={setSongName} />
            <Field label="Streams" name="num_streams" type="number" min={0} value={streams} onChange={setStreams} />
          </ActionForm>
        </details>
      )}
    </main>
  );
}
