// What the page keeps in the browser's localStorage, which belongs to this server alone (its origin):
// the token of each pseudo used here, so that the server knows you again ("Welcome back"), and the
// pseudo and room of the session in progress, so that a reload takes you back to it.

const TOKENS_KEY = "chat-room.tokens";
const SESSION_KEY = "chat-room.session";

function readJson(key) {
  try {
    const value = JSON.parse(localStorage.getItem(key) ?? "null");
    return typeof value === "object" && value !== null && !Array.isArray(value) ? value : {};
  } catch {
    return {}; // storage switched off, or not ours: start afresh
  }
}

function writeJson(key, value) {
  try {
    localStorage.setItem(key, JSON.stringify(value));
  } catch {
    // storage switched off or full: the page still works, it just forgets
  }
}

function tokenKey(pseudo) {
  return pseudo.trim().toLowerCase();
}

/** The token the server gave this pseudo here, or "" (a new pseudo, or another browser). */
export function tokenFor(pseudo) {
  const token = readJson(TOKENS_KEY)[tokenKey(pseudo)];
  return typeof token === "string" ? token : "";
}

/** Keep the token of a pseudo the server accepted. */
export function keepToken(pseudo, token) {
  if (token) {
    writeJson(TOKENS_KEY, { ...readJson(TOKENS_KEY), [tokenKey(pseudo)]: token });
  }
}

/** The session to take up again after a reload: {pseudo, room}, either may be missing. */
export function savedSession() {
  const session = readJson(SESSION_KEY);
  return {
    pseudo: typeof session.pseudo === "string" ? session.pseudo : null,
    room: typeof session.room === "string" ? session.room : null,
  };
}

export function saveSession(pseudo, room) {
  writeJson(SESSION_KEY, { pseudo, room });
}

/** After /quit: a reload shows the pseudo form again (the tokens stay). */
export function forgetSession() {
  try {
    localStorage.removeItem(SESSION_KEY);
  } catch {
    // nothing kept, nothing to forget
  }
}
