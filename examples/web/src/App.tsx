// The four tutorials' frontends. Their paths stay clear of the API's first
// segments (api, admin, authentication, music, ...), so that Hearth can serve this
// app's build and answer its client-side routes with index.html.
import { Link, NavLink, Route, Routes } from 'react-router';
import { API_URL } from './api';
import { BlogLogin, BlogPosts } from './pages/Blog';
import { ChatBoard, ChatLogin } from './pages/Chat';
import { AlbumSongs, Albums, CatalogueLogin } from './pages/Catalogue';
import { TodoDashboard, TodoLogin, TodoRegister } from './pages/Todo';

export function App() {
  return (
    <>
      <nav className="top" aria-label="Apps">
        <Link to="/" className="brand">
          Hearth
        </Link>
        <NavLink to="/todo">Todo</NavLink>
        <NavLink to="/chat">Messages</NavLink>
        <NavLink to="/blog">Blog</NavLink>
        <NavLink to="/catalogue">Music</NavLink>
      </nav>
      <Routes>
        <Route path="/" element={<Home />} />
        <Route path="/todo" element={<TodoDashboard />} />
        <Route path="/todo/login" element={<TodoLogin />} />
        <Route path="/todo/register" element={<TodoRegister />} />
        <Route path="/chat" element={<ChatBoard />} />
        <Route path="/chat/login" element={<ChatLogin />} />
        <Route path="/chat/signup" element={<ChatLogin signUp />} />
        <Route path="/blog" element={<BlogPosts />} />
        <Route path="/blog/login" element={<BlogLogin />} />
        <Route path="/blog/register" element={<BlogLogin register />} />
        <Route path="/catalogue" element={<Albums />} />
        <Route path="/catalogue/login" element={<CatalogueLogin />} />
        <Route path="/catalogue/register" element={<CatalogueLogin register />} />
        <Route path="/catalogue/albums/:id" element={<AlbumSongs />} />
        <Route path="*" element={<NotFound />} />
      </Routes>
    </>
  );
}

function Home() {
  return (
    <main>
      <h1>The tutorials, on Hearth</h1>
      <p className="muted">Backend: {API_URL || 'this origin'}</p>
      <ul className="apps">
        <li>
          <Link to="/todo">Todo list</Link>: session login with CSRF
        </li>
        <li>
          <Link to="/chat">Messages</Link>: JWT, live updates
        </li>
        <li>
          <Link to="/blog">Blog</Link>: JWT, logout by blacklisting
        </li>
        <li>
          <Link to="/catalogue">Music catalogue</Link>: DRF token, likes
        </li>
      </ul>
    </main>
  );
}

function NotFound() {
  return (
    <main>
      <h1>Page not found</h1>
      <p>
        <Link to="/">Back to the start</Link>
      </p>
    </main>
  );
}
