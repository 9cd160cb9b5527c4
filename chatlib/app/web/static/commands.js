// What a typed line means: a message to send, or a /command for the page itself.
// Pure functions, no I/O, mirroring chatlib/app/client/commands.py: the page acts on what parseInput returns.

export const COMMAND_HELP = [
  ["/help", "list the commands"],
  ["/join ROOM", "leave this room for ROOM (created if it does not exist)"],
  ["/image", "choose a PNG or JPEG file to send to the room (the Image button does the same)"],
  ["/quit", "leave the chat"],
];
const ESCAPED_SLASH = "//"; // a message that starts with "/" is typed with "//"

// {kind: "say", text} | {kind: "help"} | {kind: "join", room} | {kind: "image"} | {kind: "quit"}
// | {kind: "nothing"} | {kind: "bad", problem}
/** Decide what a line typed by the user asks for. */
export function parseInput(line) {
  if (!line.trim()) {
    return { kind: "nothing" };
  }
  if (line.startsWith(ESCAPED_SLASH)) {
    return { kind: "say", text: line.slice(1) };
  }
  if (!line.startsWith("/")) {
    return { kind: "say", text: line };
  }
  const trimmed = line.trim();
  const space = trimmed.indexOf(" ");
  const name = (space < 0 ? trimmed : trimmed.slice(0, space)).toLowerCase();
  const argument = space < 0 ? "" : trimmed.slice(space + 1).trim();
  switch (name) {
    case "/help":
      return { kind: "help" };
    case "/quit":
    case "/exit":
      return { kind: "quit" };
    case "/join":
      return argument ? { kind: "join", room: argument } : { kind: "bad", problem: "/join needs a room name: /join ROOM" };
    case "/image":
      return { kind: "image" };
    default:
      return {
        kind: "bad",
        problem: `unknown command ${name}: type /help for the list (// to send a line that starts with /)`,
      };
  }
}

/** The lines /help shows. */
export function helpLines() {
  const width = Math.max(...COMMAND_HELP.map(([usage]) => usage.length));
  return ["Commands:", ...COMMAND_HELP.map(([usage, meaning]) => `  ${usage.padEnd(width)}  ${meaning}`)];
}
