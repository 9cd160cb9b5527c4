// How each kind of line looks on the page: time, the speaker's name in their color, the text.
// Text from other people is only ever put in the page as text (textContent), never as HTML.

const MIME_TYPES = [
  { magic: [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a], type: "image/png" },
  { magic: [0xff, 0xd8, 0xff], type: "image/jpeg" },
];
const COLOR_PATTERN = /^#[0-9a-f]{6}$/;
const STICKY_BOTTOM_PX = 48; // this close to the bottom, the view follows new lines
const MAX_LINES = 2000; // a page left open all day keeps the latest lines only

/** `[hh:mm]` in the browser's local time. */
export function clock(timeMs) {
  const time = new Date(timeMs);
  const pad = (number) => String(number).padStart(2, "0");
  return `[${pad(time.getHours())}:${pad(time.getMinutes())}]`;
}

/** The MIME type of PNG or JPEG bytes, from their first bytes; null for anything else. */
export function imageType(bytes) {
  const found = MIME_TYPES.find(({ magic }) => magic.every((byte, index) => bytes[index] === byte));
  return found ? found.type : null;
}

/** The list of lines of the conversation. */
export class ConversationView {
  constructor(list) {
    this.list = list;
  }

  /** Empty the list (another room), giving back the memory of its images. */
  clear() {
    while (this.list.firstElementChild) {
      this.dropOldest();
    }
  }

  dropOldest() {
    this.list.firstElementChild.querySelectorAll("img").forEach((picture) => URL.revokeObjectURL(picture.src));
    this.list.firstElementChild.remove();
  }

  message(timeMs, pseudo, color, text) {
    const line = this.line("message", timeMs);
    line.append(speaker(pseudo, color), ` a dit : ${text}`);
    return this.add(line);
  }

  own(timeMs, text) {
    const line = this.line("own", timeMs);
    line.append(`Vous avez dit : ${text}`);
    return this.add(line);
  }

  announcement(timeMs, text) {
    const line = this.line("announce", timeMs);
    line.append(text);
    return this.add(line);
  }

  /** An image: who sent it (null: you), then the image itself; null if the bytes are not PNG or JPEG. */
  image(timeMs, pseudo, color, bytes) {
    const type = imageType(bytes);
    if (type === null) {
      return null;
    }
    const url = URL.createObjectURL(new Blob([bytes], { type }));
    const line = this.line("image", timeMs);
    if (pseudo === null) {
      line.append("You sent an image");
    } else {
      line.append(speaker(pseudo, color), " sent an image");
    }
    const picture = document.createElement("img");
    picture.src = url;
    picture.alt = pseudo === null ? "your image" : `image from ${pseudo}`;
    const following = this.atBottom();
    picture.addEventListener("load", () => following && this.follow()); // it is taller once loaded
    line.append(document.createElement("br"), picture);
    return this.add(line);
  }

  /** An image of the history: only its placeholder, the server keeps no pixels. */
  imagePlaceholder(timeMs, pseudo, color, placeholder) {
    const line = this.line("image", timeMs);
    line.append(speaker(pseudo, color), ` sent an image ${placeholder}`);
    return this.add(line);
  }

  notice(text) {
    return this.plain("notice", text);
  }

  /** A line of /help, whose columns line up. */
  help(text) {
    return this.plain("help", text);
  }

  greeting(text) {
    return this.plain("greeting", text);
  }

  error(text) {
    return this.plain("error", text);
  }

  closing(text) {
    return this.plain("closing", text);
  }

  mark(text) {
    return this.plain("mark", text);
  }

  plain(kind, text) {
    const line = this.line(kind, null);
    line.append(text);
    return this.add(line);
  }

  line(kind, timeMs) {
    const line = document.createElement("li");
    line.className = `line ${kind}`;
    if (timeMs !== null) {
      const time = document.createElement("time");
      time.dateTime = new Date(timeMs).toISOString();
      time.textContent = clock(timeMs);
      line.append(time, " ");
    }
    return line;
  }

  add(line) {
    const following = this.atBottom();
    this.list.append(line);
    if (this.list.children.length > MAX_LINES) {
      this.dropOldest();
    }
    if (following) {
      this.follow();
    }
    return line;
  }

  atBottom() {
    const list = this.list;
    return list.scrollHeight - list.scrollTop - list.clientHeight < STICKY_BOTTOM_PX;
  }

  follow() {
    this.list.scrollTop = this.list.scrollHeight;
  }
}

function speaker(pseudo, color) {
  const name = document.createElement("span");
  name.className = "pseudo";
  name.textContent = pseudo;
  if (COLOR_PATTERN.test(color)) {
    name.style.color = color;
  }
  return name;
}
