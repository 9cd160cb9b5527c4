// The chat page: joins the chat of the server that served it, as chat-client does from a terminal.
// protocol.js speaks the frames, connection.js carries them, view.js shows the lines,
// saved.js remembers the tokens, commands.js reads what is typed. This file puts them together.

import { helpLines, parseInput } from "./commands.js";
import { Backoff, ServerLink, serverUrl } from "./connection.js";
import {
  ErrorCode, MAX_IMAGE_BYTES, MAX_PSEUDO_LENGTH, MAX_ROOM_LENGTH, MAX_TEXT_BYTES, errorName, parseHistory,
  utf8Length,
} from "./protocol.js";
import { forgetSession, keepToken, saveSession, savedSession, tokenFor } from "./saved.js";
import { ConversationView, clock, imageType } from "./view.js";

const HISTORY_START = "--- history ---";
const HISTORY_END = "--- now ---";
const PSEUDO_RETRIES = 4; // after a reload, the page's previous connection may still hold the pseudo
const GOODBYE_TIMEOUT_MS = 2000;
const LOGIN_ERRORS = [ErrorCode.PSEUDO_TAKEN, ErrorCode.BAD_PSEUDO, ErrorCode.BAD_TOKEN];
const REMEMBERED = 5000; // entries remembered to tell a history's old ones (the server sends 50)

const element = (id) => document.getElementById(id);
const panels = ["login", "rooms", "conversation", "left"].map(element);
const view = new ConversationView(element("lines"));
const backoff = new Backoff();

const state = {
  link: null, // the ServerLink in use, if any
  pseudo: null, // as the server accepted it on this connection
  wantedPseudo: null, // to say HELLO with, as soon as connected; null: stay away
  room: null, // the room on screen
  wantedRoom: null, // to enter as soon as welcomed
  rooms: [],
  roomsTime: 0,
  leaving: false, // after /quit: no reconnection
  outage: false, // the connection was lost and is not back yet
  pseudoRetries: 0,
  reconnectTimer: null,
  shown: new Set(), // this room's entries on screen: a reconnection's history repeats them
  ownTexts: [], // what we said in this room, which its history will hold under our pseudo
  ownImages: 0,
};

// --- Connection ------------------------------------------------------------------------------------

function connect() {
  clearTimeout(state.reconnectTimer);
  setStatus("connecting", "Connecting…");
  const link = new ServerLink(serverUrl(window.location), {
    onOpen: () => link === state.link && opened(),
    onFrame: (frame) => link === state.link && handle(frame),
    onClose: (problem) => link === state.link && closed(problem),
  });
  state.link = link;
}

function opened() {
  setStatus("online", "Connected");
  if (state.wantedPseudo) {
    sayHello();
  }
}

function sayHello() {
  state.link?.send({ kind: "Hello", pseudo: state.wantedPseudo, token: tokenFor(state.wantedPseudo) });
}

function closed(problem) {
  const wasIn = state.pseudo !== null;
  state.link = null;
  state.pseudo = null;
  if (problem) {
    view.error(`Connection closed: ${problem}`);
  }
  element("change-room").hidden = true;
  if (state.leaving) {
    state.leaving = false;
    setStatus("offline", "Not connected");
    element("who").textContent = "";
    element("room-name").textContent = "";
    showPanel("left");
    element("rejoin").focus();
    return;
  }
  if (!state.wantedPseudo) {
    setStatus("offline", "Not connected");
    return;
  }
  if (wasIn && !state.outage) {
    view.closing("Connection to the server lost. Reconnecting…");
  } else if (!element("login").hidden) {
    element("login-error").textContent = "The server cannot be reached. Trying again…";
  }
  state.outage = true;
  const delay = backoff.next();
  setStatus("offline", `Reconnecting in ${Math.max(1, Math.round(delay / 1000))} s…`);
  state.reconnectTimer = setTimeout(connect, delay);
}

// --- What the server says ------------------------------------------------------------------------

function handle(frame) {
  switch (frame.kind) {
    case "Welcome":
      return welcomed(frame);
    case "RoomList":
      state.rooms = frame.rooms;
      state.roomsTime = Date.now();
      return state.wantedRoom ? sendEnterRoom(state.wantedRoom) : showRooms();
    case "RoomEntered":
      return entered(frame.room);
    case "History":
      return showHistory(frame.entriesJson);
    case "Message":
      remember(entryKey("message", frame.timeMs, frame.pseudo, frame.text));
      return view.message(frame.timeMs, frame.pseudo, frame.color, frame.text);
    case "Announcement":
      remember(entryKey("announce", frame.timeMs, "", frame.text));
      return view.announcement(frame.timeMs, frame.text);
    case "ImageFrom":
      remember(entryKey("image", frame.timeMs, frame.pseudo, ""));
      if (!view.image(frame.timeMs, frame.pseudo, frame.color, frame.data)) {
        view.error(`${frame.pseudo} sent an image that cannot be shown`);
      }
      return null;
    case "Error":
      return refused(frame.code, frame.text);
    case "Closing":
      return view.closing(`The server is closing: ${frame.reason}`);
    case "Ping":
      return state.link?.send({ kind: "Pong" });
    default:
      return null;
  }
}

function welcomed(welcome) {
  state.pseudo = welcome.pseudo;
  state.wantedPseudo = welcome.pseudo;
  state.pseudoRetries = 0;
  state.outage = false;
  backoff.reset();
  keepToken(welcome.pseudo, welcome.token);
  saveSession(welcome.pseudo, state.wantedRoom);
  element("pseudo").value = welcome.pseudo;
  element("login-error").textContent = "";
  const who = element("who");
  who.textContent = welcome.pseudo;
  who.style.color = welcome.color;
  setStatus("online", "Connected");
  if (welcome.returning) {
    view.greeting(`Welcome back ${welcome.pseudo} !`);
  }
}

function entered(room) {
  const before = state.room;
  if (before !== null && before !== room) {
    view.clear();
    state.shown = new Set();
    state.ownTexts = [];
    state.ownImages = 0;
  }
  state.room = room;
  state.wantedRoom = room;
  saveSession(state.pseudo, room);
  element("room-name").textContent = room;
  document.title = `${room} · Chat room`;
  if (before === null) {
    view.notice(`You are in room ${room}. Type /help for the commands.`);
  } else if (before === room) {
    view.notice(`You are in room ${room} again.`);
  } else {
    view.notice(`You are now in room ${room}.`);
  }
  showPanel("conversation");
  element("message").focus();
}

function showHistory(payload) {
  let history;
  try {
    history = parseHistory(payload);
  } catch (problem) {
    view.error(`The server sent a history that cannot be shown: ${problem.message}`);
    return;
  }
  const fresh = history.entries.filter((entry) => !alreadyShown(entry));
  if (fresh.length === 0) {
    return;
  }
  view.mark(HISTORY_START);
  fresh.forEach(showHistoryEntry);
  view.mark(HISTORY_END);
}

function showHistoryEntry(entry) {
  const mine = entry.pseudo === state.pseudo;
  if (entry.kind === "message" && mine) {
    view.own(entry.timeMs, entry.text);
  } else if (entry.kind === "message") {
    view.message(entry.timeMs, entry.pseudo, entry.color, entry.text);
  } else if (entry.kind === "image") {
    view.imagePlaceholder(entry.timeMs, entry.pseudo, entry.color, entry.text);
  } else {
    view.announcement(entry.timeMs, entry.text);
  }
}

/** Whether a history entry is on screen already (seen live before a reconnection), and note it is. */
function alreadyShown(entry) {
  if (entry.pseudo === state.pseudo && entry.kind === "message" && state.ownTexts.includes(entry.text)) {
    state.ownTexts.splice(state.ownTexts.indexOf(entry.text), 1);
    return true;
  }
  if (entry.pseudo === state.pseudo && entry.kind === "image" && state.ownImages > 0) {
    state.ownImages -= 1;
    return true;
  }
  const key = entryKey(entry.kind, entry.timeMs, entry.pseudo, entry.kind === "image" ? "" : entry.text);
  const seen = state.shown.has(key);
  remember(key);
  return seen;
}

function remember(key) {
  state.shown.add(key);
  if (state.shown.size > REMEMBERED) {
    state.shown.delete(state.shown.values().next().value); // the oldest
  }
}

function entryKey(kind, timeMs, pseudo, text) {
  return JSON.stringify([kind, timeMs, pseudo, text]);
}

function refused(code, text) {
  if (state.pseudo === null && LOGIN_ERRORS.includes(code)) {
    if (code === ErrorCode.PSEUDO_TAKEN && tokenFor(state.wantedPseudo) && state.pseudoRetries < PSEUDO_RETRIES) {
      state.pseudoRetries += 1; // probably our own previous connection, closing: ask again soon
      setTimeout(sayHello, 250 * 2 ** state.pseudoRetries);
      return;
    }
    state.wantedPseudo = null;
    state.wantedRoom = null;
    forgetSession();
    state.link?.close();
    showLogin(text);
    return;
  }
  if (code === ErrorCode.BAD_ROOM) {
    state.wantedRoom = state.room;
    if (state.room === null) {
      showRooms(text);
    } else {
      view.error(`Room refused: ${text}`);
    }
    return;
  }
  if (code === ErrorCode.BAD_IMAGE) {
    view.error(`Image refused by the server: ${text}`);
    return;
  }
  view.error(`${text} (${errorName(code)})`); // the server closes the connection after these
}

// --- What the user does ----------------------------------------------------------------------------

function logIn(event) {
  event.preventDefault();
  const pseudo = element("pseudo").value.trim();
  const problem = nameProblem(pseudo, "pseudo", MAX_PSEUDO_LENGTH);
  if (problem) {
    showLogin(problem);
    return;
  }
  element("login-error").textContent = "";
  state.wantedPseudo = pseudo;
  state.pseudoRetries = 0;
  if (state.link?.isOpen) {
    sayHello();
  } else if (!state.link) {
    connect();
  }
}

function chooseNewRoom(event) {
  event.preventDefault();
  const room = element("new-room").value.trim();
  const problem = nameProblem(room, "room name", MAX_ROOM_LENGTH);
  if (problem) {
    showRooms(problem);
    return;
  }
  sendEnterRoom(room);
}

function sendEnterRoom(room) {
  state.wantedRoom = room;
  if (!state.link?.send({ kind: "EnterRoom", room })) {
    element("room-error").textContent = "Not connected to the server.";
  }
}

function submitLine(event) {
  event.preventDefault();
  const input = element("message");
  const line = input.value;
  const action = parseInput(line);
  switch (action.kind) {
    case "say":
      if (say(action.text)) {
        input.value = "";
      }
      return;
    case "help":
      helpLines().forEach((text) => view.help(text));
      break;
    case "join": {
      const problem = nameProblem(action.room, "room name", MAX_ROOM_LENGTH);
      if (problem) {
        view.error(`Room refused: ${problem}`);
        return;
      }
      sendEnterRoom(action.room);
      break;
    }
    case "image":
      element("image-file").click();
      break;
    case "quit":
      quit();
      break;
    case "bad":
      view.error(action.problem);
      return;
    default:
      break;
  }
  input.value = "";
}

/** Send a message and show it as ours; false (and why) if it cannot go. */
function say(text) {
  const size = utf8Length(text);
  if (size > MAX_TEXT_BYTES) {
    view.error(`Message not sent: ${size} bytes, the limit is ${MAX_TEXT_BYTES}`);
    return false;
  }
  if (state.pseudo === null || !state.link?.send({ kind: "Say", text })) {
    view.error("Not connected: the message was not sent.");
    return false;
  }
  if (text.trim()) {
    state.ownTexts.push(text);
    if (state.ownTexts.length > REMEMBERED) {
      state.ownTexts.shift();
    }
    view.own(Date.now(), text);
  }
  return true;
}

async function sendImageFile() {
  const chooser = element("image-file");
  const file = chooser.files[0];
  chooser.value = "";
  if (!file) {
    return;
  }
  if (file.size > MAX_IMAGE_BYTES) {
    view.error(`Image not sent: ${file.size} bytes, the limit is ${MAX_IMAGE_BYTES} (2 MiB)`);
    return;
  }
  const bytes = new Uint8Array(await file.arrayBuffer());
  if (imageType(bytes) === null) {
    view.error("Image not sent: only PNG and JPEG files can be sent");
    return;
  }
  if (state.pseudo === null || !state.link?.send({ kind: "SendImage", data: bytes })) {
    view.error("Not connected: the image was not sent.");
    return;
  }
  state.ownImages += 1;
  view.image(Date.now(), null, null, bytes);
  element("message").focus();
}

function quit() {
  state.wantedPseudo = null;
  state.wantedRoom = null;
  forgetSession();
  clearTimeout(state.reconnectTimer);
  const link = state.link;
  if (!link?.send({ kind: "Bye" })) {
    state.leaving = true;
    closed(null);
    return;
  }
  state.leaving = true;
  setTimeout(() => link === state.link && link.close(), GOODBYE_TIMEOUT_MS);
}

function comeBack() {
  const pseudo = element("pseudo").value.trim() || null;
  state.wantedPseudo = pseudo;
  state.wantedRoom = state.room;
  if (!pseudo) {
    showLogin("");
    return;
  }
  view.notice("Coming back…");
  showPanel("conversation");
  connect();
}

// --- Panels ------------------------------------------------------------------------------------

function showPanel(name) {
  panels.forEach((panel) => {
    panel.hidden = panel.id !== name;
  });
  const inRoom = state.room !== null && state.pseudo !== null;
  element("change-room").hidden = !(inRoom && name === "conversation");
}

function showLogin(problem) {
  showPanel("login");
  element("login-error").textContent = problem;
  element("pseudo").focus();
}

function showRooms(problem = "") {
  const list = element("room-list");
  list.replaceChildren(...state.rooms.map(roomItem));
  const count = state.rooms.length;
  element("rooms-when").textContent = `${count} room${count === 1 ? "" : "s"}, as of ${clock(state.roomsTime).slice(1, -1)}:`;
  element("room-error").textContent = problem;
  element("back-to-room").hidden = state.room === null;
  showPanel("rooms");
  (list.querySelector("button") ?? element("new-room")).focus();
}

function roomItem(room) {
  const item = document.createElement("li");
  const button = document.createElement("button");
  button.type = "button";
  button.className = "room";
  const name = document.createElement("span");
  name.className = "room-title";
  name.textContent = room.name;
  const members = document.createElement("span");
  members.className = "members";
  members.textContent = room.members === 0 ? "empty" : `${room.members} ${room.members === 1 ? "person" : "people"}`;
  button.append(name, members);
  if (room.name === state.room) {
    button.setAttribute("aria-current", "true");
  }
  button.addEventListener("click", () => sendEnterRoom(room.name));
  item.append(button);
  return item;
}

function setStatus(kind, text) {
  const status = element("status");
  status.dataset.state = kind;
  status.textContent = text;
}

/** Why a pseudo or room name cannot be sent as it is, or "" (the server checks the rest). */
function nameProblem(name, what, maxLength) {
  if (!name) {
    return `Type a ${what}.`;
  }
  const length = [...name].length;
  if (length > maxLength) {
    return `The ${what} is ${length} characters long; ${maxLength} at most.`;
  }
  return "";
}

// --- Start ------------------------------------------------------------------------------------

function start() {
  element("login-form").addEventListener("submit", logIn);
  element("room-form").addEventListener("submit", chooseNewRoom);
  element("say-form").addEventListener("submit", submitLine);
  element("image-button").addEventListener("click", () => element("image-file").click());
  element("image-file").addEventListener("change", sendImageFile);
  element("change-room").addEventListener("click", () => showRooms());
  element("back-to-room").addEventListener("click", () => {
    showPanel("conversation");
    element("message").focus();
  });
  element("rooms").addEventListener("keydown", (event) => {
    if (event.key === "Escape" && state.room !== null) {
      element("back-to-room").click();
    }
  });
  element("rejoin").addEventListener("click", comeBack);

  const session = savedSession();
  element("pseudo").value = session.pseudo ?? "";
  if (session.pseudo) {
    state.wantedPseudo = session.pseudo;
    state.wantedRoom = session.room;
    showPanel("conversation");
    connect();
  } else {
    showLogin("");
  }
}

start();
