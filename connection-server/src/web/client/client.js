// MUSH web client: one page talking to the gateway's /ws endpoint.
// Protocol: docs/web-protocol.md (one JSON object per text frame, each with a `type`).
// Game text is hostile input: it only ever reaches the page as text nodes, never as HTML.
"use strict";

(() => {
  const MAX_LINES = 5000;              // scrollback kept in the page
  const MAX_HISTORY = 200;             // command history entries
  const TRANSCRIPT_MAX = 4 * 1024 * 1024; // characters kept for window.mush.outputText()
  const BACKOFF_MAX_MS = 30000;
  const RESTART_MSG = "The game is restarting: what you type is queued and runs when it is back.";

  // ------------------------------------------------------------------------------------------
  // ANSI: SGR sequences become styles; every other escape or control sequence is dropped.
  // ------------------------------------------------------------------------------------------

  const newAnsiState = () => ({
    bold: false, dim: false, italic: false, underline: false, inverse: false, strike: false,
    fg: null, bg: null, // null (default), 0-255 (palette index) or a CSS "rgb(r,g,b)" string
  });

  // CSI (ESC [ params intermediates final), OSC (ESC ] ... BEL or ST), DCS/SOS/PM/APC strings,
  // other two-character escapes, a lone ESC, and the 8-bit CSI (U+009B).
  const ESC_RE = /\x1b(?:\[([0-?]*)[ -\/]*([@-~])|\][^\x07\x1b]*(?:\x07|\x1b\\)|[PX^_][^\x1b]*\x1b\\|[ -\/]*[0-~]?)|\x9b[0-?]*[ -\/]*[@-~]/g;
  // CR LF (or a lone CR) and the C0/C1 controls other than TAB and LF.
  const CTRL_RE = /\r\n?|[\x00-\x08\x0b-\x1f\x7f-\x9f]/g;
  const fixControl = (m) => (m === "\r\n" ? "\n" : "");

  /** The text with every escape sequence and control character removed (CR LF becomes LF). */
  const plain = (text) => String(text).replace(ESC_RE, "").replace(CTRL_RE, fixControl);

  /** The 256-colour palette entry n (16-255) as a CSS colour; 0-15 come from the theme. */
  function color256(n) {
    if (n < 16) return `var(--ansi-${n})`;
    if (n < 232) {
      const level = (v) => (v === 0 ? 0 : 55 + v * 40);
      const i = n - 16;
      return `rgb(${level(Math.floor(i / 36))},${level(Math.floor(i / 6) % 6)},${level(i % 6)})`;
    }
    const g = 8 + (n - 232) * 10;
    return `rgb(${g},${g},${g})`;
  }

  const byte = (v) => Number.isInteger(v) && v >= 0 && v <= 255;

  /**
   * An extended colour starting at nums[j] (the part after 38/48): `5;n` or `2;r;g;b`
   * (in the colon form, `2:cs:r:g:b` has a colour-space id first). Returns the colour
   * (undefined when malformed) and the index of the next parameter.
   */
  function extendedColor(nums, j, colonForm) {
    if (nums[j] === 5) return { color: byte(nums[j + 1]) ? nums[j + 1] : undefined, next: j + 2 };
    if (nums[j] === 2) {
      if (colonForm && nums.length - j >= 5) j += 1; // skip the colour-space id
      const [r, g, b] = nums.slice(j + 1, j + 4);
      return { color: byte(r) && byte(g) && byte(b) ? `rgb(${r},${g},${b})` : undefined, next: j + 4 };
    }
    return { color: undefined, next: j + 1 };
  }

  /** Applies one SGR parameter string ("1;31", "38;5;208", "", ...) to the state. */
  function applySgr(st, params) {
    const list = params === "" ? ["0"] : params.split(";");
    const nums = list.map((p) => (p === "" ? 0 : Number(p)));
    for (let i = 0; i < list.length; i++) {
      if (list[i].includes(":")) { // ITU colon form: 38:5:n, 38:2::r:g:b, 4:0 ...
        const sub = list[i].split(":").map((p) => (p === "" ? 0 : Number(p)));
        if (sub[0] === 38 || sub[0] === 48) {
          const { color } = extendedColor(sub, 1, true);
          if (color !== undefined) st[sub[0] === 38 ? "fg" : "bg"] = color;
        } else if (sub[0] === 4) st.underline = sub[1] !== 0;
        continue;
      }
      const n = nums[i];
      if (n === 0) Object.assign(st, newAnsiState());
      else if (n === 1) st.bold = true;
      else if (n === 2) st.dim = true;
      else if (n === 3) st.italic = true;
      else if (n === 4) st.underline = true;
      else if (n === 7) st.inverse = true;
      else if (n === 9) st.strike = true;
      else if (n === 21 || n === 22) { st.bold = false; st.dim = false; }
      else if (n === 23) st.italic = false;
      else if (n === 24) st.underline = false;
      else if (n === 27) st.inverse = false;
      else if (n === 29) st.strike = false;
      else if (n >= 30 && n <= 37) st.fg = n - 30;
      else if (n === 39) st.fg = null;
      else if (n >= 40 && n <= 47) st.bg = n - 40;
      else if (n === 49) st.bg = null;
      else if (n >= 90 && n <= 97) st.fg = n - 90 + 8;
      else if (n >= 100 && n <= 107) st.bg = n - 100 + 8;
      else if (n === 38 || n === 48) {
        const { color, next } = extendedColor(nums, i + 1, false);
        if (color !== undefined) st[n === 38 ? "fg" : "bg"] = color;
        i = next - 1;
      }
      // Anything else (blink, conceal, fonts, ...) is ignored.
    }
  }

  /**
   * Splits game text into styled segments [{text, style}], carrying the SGR state in `state`
   * (it persists from one message to the next, as on a terminal). Segment text has no escapes
   * or controls left other than TAB and LF.
   */
  function parseAnsi(text, state) {
    const out = [];
    const push = (s) => {
      s = s.replace(CTRL_RE, fixControl);
      if (s) out.push({ text: s, style: { ...state } });
    };
    let last = 0;
    ESC_RE.lastIndex = 0;
    for (let m; (m = ESC_RE.exec(text)); ) {
      push(text.slice(last, m.index));
      last = ESC_RE.lastIndex;
      if (m[2] === "m" && !/^[<=>?]/.test(m[1])) applySgr(state, m[1]);
    }
    push(text.slice(last));
    return out;
  }

  /** The CSS for a segment style: class names (b d i u s) and the colours. */
  function styleOf(st) {
    let fg = st.fg;
    if (st.bold && typeof fg === "number" && fg < 8) fg += 8; // bold shows the bright colour
    let color = fg === null ? "" : typeof fg === "number" ? color256(fg) : fg;
    let background = st.bg === null ? "" : typeof st.bg === "number" ? color256(st.bg) : st.bg;
    if (st.inverse) [color, background] = [background || "var(--bg)", color || "var(--fg)"];
    const cls = [st.bold && "b", st.dim && "d", st.italic && "i", st.underline && "u", st.strike && "s"]
      .filter(Boolean).join(" ");
    return { cls, color, background };
  }

  // Under node (unit tests) only the pure functions above are wanted.
  if (typeof document === "undefined") {
    if (typeof module === "object") module.exports = { parseAnsi, styleOf, applySgr, newAnsiState, plain, color256 };
    return;
  }

  // ------------------------------------------------------------------------------------------
  // The page
  // ------------------------------------------------------------------------------------------

  const $ = (id) => document.getElementById(id);
  const output = $("output"), promptEl = $("prompt"), input = $("input"), form = $("form");
  const connEl = $("conn"), statusEl = $("status"), gameNameEl = $("game-name");
  const side = $("side"), roomSec = $("room"), roomName = $("room-name");
  const vitalsSec = $("vitals"), vitalsList = $("vitals-list"), measure = $("measure");

  let ansi = newAnsiState();  // SGR state of the game's text stream
  let openLine = null;        // the output line still waiting for its newline, if any
  const transcript = [];      // plain text of everything written to the output
  let transcriptLen = 0;
  let transcriptAtLineStart = true;

  /** Records plain output text for window.mush.outputText(), dropping the oldest past the cap. */
  function record(text) {
    if (!text) return;
    transcript.push(text);
    transcriptLen += text.length;
    transcriptAtLineStart = text.endsWith("\n");
    while (transcriptLen > TRANSCRIPT_MAX && transcript.length > 1) transcriptLen -= transcript.shift().length;
  }

  /** A new line at the bottom of the output; the oldest lines go past MAX_LINES. */
  function addLine(cls) {
    const div = document.createElement("div");
    div.className = cls ? `line ${cls}` : "line";
    output.append(div);
    return div;
  }

  /**
   * Drops the oldest lines past MAX_LINES. When the player has scrolled up, the scroll position
   * moves up by the height removed so that what they read stays in place (the browser's own
   * scroll anchoring is off: it fought the auto-scroll).
   */
  function trimOutput() {
    const excess = output.childElementCount - MAX_LINES;
    if (excess <= 0) return;
    const doomed = Array.from({ length: excess }, (_, i) => output.children[i]);
    const shift = stick ? 0
      : doomed[excess - 1].getBoundingClientRect().bottom - doomed[0].getBoundingClientRect().top;
    for (const el of doomed) el.remove();
    if (shift) output.scrollTop -= shift;
  }

  /** A text node, or a span when the text is styled (styles set through the CSSOM only). */
  function styledNode(text, style) {
    const { cls, color, background } = styleOf(style);
    if (!cls && !color && !background) return document.createTextNode(text);
    const span = document.createElement("span");
    if (cls) span.className = cls;
    if (color) span.style.color = color;
    if (background) span.style.backgroundColor = background;
    span.textContent = text;
    return span;
  }

  /** Writes game text (several lines, maybe a partial last one) to the output. */
  function writeGameText(text) {
    const segments = parseAnsi(text, ansi);
    for (const seg of segments) {
      seg.text.split("\n").forEach((part, i) => {
        if (i > 0) { // a newline ends the open line (an empty one if none is open)
          if (!openLine) addLine();
          openLine = null;
        }
        if (part) (openLine || (openLine = addLine())).append(styledNode(part, seg.style));
      });
      record(seg.text);
    }
    trimOutput();
    scrollSoon();
  }

  /** A whole line of the client's own (an echo, a notice, an error), always on a line of its own. */
  function writeLine(text, cls) {
    openLine = null;
    addLine(cls).textContent = text;
    if (!transcriptAtLineStart) record("\n");
    record(text + "\n");
    trimOutput();
    scrollSoon();
  }
  const notice = (text) => writeLine(text, "notice");

  // Auto-scroll: follow the bottom unless the player scrolled up. Scroll events arrive late and
  // also come from layout (lines dropped, resizes), so only a scroll soon after the player's
  // own wheel, touch, key or scrollbar drag may stop the following; reaching the bottom resumes it.
  let stick = true, scrollQueued = false, userScrollAt = 0, dragging = false;
  const noteUserScroll = () => { userScrollAt = Date.now(); };
  for (const type of ["wheel", "touchmove", "keydown"]) output.addEventListener(type, noteUserScroll, { passive: true });
  output.addEventListener("pointerdown", () => { dragging = true; });
  window.addEventListener("pointerup", () => { dragging = false; });
  output.addEventListener("scroll", () => {
    if (output.scrollHeight - output.scrollTop - output.clientHeight < 8) stick = true;
    else if (dragging || Date.now() - userScrollAt < 1000) stick = false;
  });
  let jumpToBottom = false; // set when the player sends a command: show the bottom whatever came before
  function scrollSoon() {
    if ((!stick && !jumpToBottom) || scrollQueued) return;
    scrollQueued = true;
    requestAnimationFrame(() => {
      scrollQueued = false;
      if (stick || jumpToBottom) {
        output.scrollTop = output.scrollHeight;
        stick = true;
      }
      jumpToBottom = false;
    });
  }

  /** The prompt area shows the latest prompt only. */
  function showPrompt(text) {
    promptEl.replaceChildren(...parseAnsi(text.replace(/[\r\n]+$/, ""), newAnsiState())
      .map((seg) => styledNode(seg.text, seg.style)));
  }

  // ------------------------------------------------------------------------------------------
  // Status banner, GMCP side panel
  // ------------------------------------------------------------------------------------------

  let gameStatus = "running";
  function setGameStatus(game) {
    if (game !== "running" && game !== "restarting") return;
    gameStatus = game;
    statusEl.textContent = game === "restarting" ? RESTART_MSG : "";
    statusEl.hidden = game !== "restarting";
  }

  const gmcp = new Map(); // package -> latest data
  const msdp = new Map(); // variable -> latest value
  /** The latest data of a GMCP package (package names compare case-insensitively). */
  function gmcpData(name) {
    const want = name.toLowerCase();
    for (const [pkg, data] of gmcp) if (pkg.toLowerCase() === want) return data;
    return undefined;
  }
  const isObject = (v) => v !== null && typeof v === "object";

  /** A GMCP value as short plain text. */
  function valueText(v) {
    if (v === null || v === undefined) return "";
    const s = isObject(v) ? JSON.stringify(v) : String(v);
    return plain(s.length > 200 ? `${s.slice(0, 200)}…` : s);
  }

  function renderSide() {
    const room = gmcpData("Room.Info");
    const name = isObject(room) && room.name !== undefined ? valueText(room.name) : "";
    roomName.textContent = name;
    roomSec.hidden = !name;

    const vitals = gmcpData("Char.Vitals");
    vitalsSec.hidden = vitals === undefined;
    if (vitals !== undefined) {
      const pairs = isObject(vitals) && !Array.isArray(vitals) ? Object.entries(vitals) : [["value", vitals]];
      vitalsList.replaceChildren(...pairs.slice(0, 40).flatMap(([k, v]) => {
        const dt = document.createElement("dt"), dd = document.createElement("dd");
        dt.textContent = plain(k);
        dd.textContent = valueText(v);
        return [dt, dd];
      }));
    }
    side.hidden = roomSec.hidden && vitalsSec.hidden;
  }

  // ------------------------------------------------------------------------------------------
  // Connection
  // ------------------------------------------------------------------------------------------

  let ws = null;
  let connects = 0;            // WebSocket opens so far
  let state = "reconnecting";  // connected | reconnecting | disconnected
  let attempt = 0;             // failed attempts in a row (the backoff exponent)
  let openedAt = 0;            // when the current socket opened (0: it never did)
  let retryTimer = null, countdownTimer = null;

  const isOpen = () => ws !== null && ws.readyState === WebSocket.OPEN;
  const sendMsg = (msg) => { if (isOpen()) ws.send(JSON.stringify(msg)); };

  function setState(s, label) {
    state = s;
    connEl.dataset.state = s;
    connEl.textContent = label;
  }

  function clearRetry() {
    clearTimeout(retryTimer);
    clearInterval(countdownTimer);
    retryTimer = countdownTimer = null;
  }

  function connect() {
    clearRetry();
    if (ws) return; // already connecting or open
    input.placeholder = "";
    setState("reconnecting", connects ? "reconnecting…" : "connecting…");
    openedAt = 0;
    let sock;
    try {
      sock = new WebSocket(`${location.protocol === "https:" ? "wss:" : "ws:"}//${location.host}/ws`);
    } catch (e) {
      scheduleReconnect(1000 * 2 ** attempt++);
      return;
    }
    ws = sock;
    sock.onopen = () => { if (sock === ws) onOpen(); };
    sock.onmessage = (ev) => { if (sock === ws) onMessage(ev.data); };
    sock.onclose = (ev) => { if (sock === ws) onClose(ev); };
  }

  function onOpen() {
    connects++;
    openedAt = Date.now();
    ansi = newAnsiState();
    setState("connected", "connected");
    if (connects > 1) notice("Reconnected.");
    // A new session: the gateway says again if the game is restarting.
    setGameStatus("running");
    sendMsg({ type: "client", name: "mush-web", version: "1" });
    lastWindow = "";
    sendWindow();
  }

  function onClose(ev) {
    const wasOpen = openedAt !== 0;
    ws = null;
    promptEl.replaceChildren();
    if (ev.code === 1000) { // the game (or the player, by QUIT) ended the session
      attempt = 0;
      setState("disconnected", "disconnected");
      notice("Disconnected. Press Enter to reconnect.");
      input.placeholder = "Press Enter to reconnect";
      return;
    }
    // A session that lasted a while starts the backoff over.
    if (wasOpen && Date.now() - openedAt > 10000) attempt = 0;
    let base;
    if (ev.code === 1001) { // the gateway is shutting down: another one takes over soon
      base = 1000;
      attempt = 1;
    } else {
      base = 1000 * 2 ** attempt;
      attempt = Math.min(attempt + 1, 10);
    }
    if (wasOpen) notice(`Connection lost${ev.code ? ` (code ${ev.code})` : ""}. Reconnecting…`);
    scheduleReconnect(base);
  }

  /** Reconnects after `base` ms (capped, ±20 % jitter), counting down in the indicator. */
  function scheduleReconnect(base) {
    clearRetry();
    const delay = Math.min(BACKOFF_MAX_MS, base) * (0.8 + 0.4 * Math.random());
    const at = Date.now() + delay;
    const tick = () => setState("reconnecting", `reconnecting in ${Math.max(1, Math.ceil((at - Date.now()) / 1000))}s`);
    tick();
    countdownTimer = setInterval(tick, 250);
    retryTimer = setTimeout(connect, delay);
  }

  function onMessage(data) {
    if (typeof data !== "string") return;
    let msg;
    try { msg = JSON.parse(data); } catch (e) { return; }
    if (!isObject(msg)) return;
    switch (msg.type) {
      case "hello":
        if (typeof msg.game === "string" && plain(msg.game).trim()) {
          document.title = gameNameEl.textContent = plain(msg.game).trim();
        }
        break;
      case "text": // whole lines: the message ends its last line
        writeGameText(String(msg.text ?? "") + "\n");
        break;
      case "prompt":
        showPrompt(String(msg.text ?? ""));
        break;
      case "gmcp":
        if (typeof msg.package === "string" && msg.package) {
          gmcp.set(msg.package, msg.data);
          renderSide();
        }
        break;
      case "msdp":
        if (typeof msg.variable === "string") msdp.set(msg.variable, msg.value);
        break;
      case "status":
        setGameStatus(msg.game);
        break;
      case "error":
        writeLine(`Error: ${plain(msg.message ?? "")}`, "error");
        break;
      default: // unknown types are ignored
    }
  }

  // ------------------------------------------------------------------------------------------
  // Window size (NAWS): the output area in characters, sent on open and on resize
  // ------------------------------------------------------------------------------------------

  let lastWindow = "", resizeTimer = null;
  function sendWindow() {
    if (!isOpen()) return;
    const box = measure.getBoundingClientRect();
    const charW = box.width / 10 || 8, charH = box.height || 16;
    const cs = getComputedStyle(output);
    const innerW = output.clientWidth - parseFloat(cs.paddingLeft) - parseFloat(cs.paddingRight);
    const innerH = output.clientHeight - parseFloat(cs.paddingTop) - parseFloat(cs.paddingBottom);
    const clamp = (v) => Math.max(1, Math.min(65535, Math.floor(v) || 1));
    const width = clamp(innerW / charW), height = clamp(innerH / charH);
    if (`${width}x${height}` === lastWindow) return;
    lastWindow = `${width}x${height}`;
    sendMsg({ type: "window", width, height });
  }
  function onResize() {
    clearTimeout(resizeTimer);
    resizeTimer = setTimeout(sendWindow, 200);
    scrollSoon();
  }
  window.addEventListener("resize", onResize);
  if ("ResizeObserver" in window) new ResizeObserver(onResize).observe(output);

  // ------------------------------------------------------------------------------------------
  // Input: Enter sends, ArrowUp/ArrowDown walk the history, Escape clears
  // ------------------------------------------------------------------------------------------

  const history = [];
  let histPos = 0;   // history.length means "the line being typed"
  let draft = "";    // the line being typed, kept while walking the history

  function remember(text) {
    if (text.trim() && history[history.length - 1] !== text) {
      history.push(text);
      if (history.length > MAX_HISTORY) history.shift();
    }
    histPos = history.length;
    draft = "";
  }

  function historyStep(dir) {
    if (histPos === history.length) draft = input.value;
    const pos = Math.max(0, Math.min(history.length, histPos + dir));
    if (pos === histPos) return;
    histPos = pos;
    input.value = pos === history.length ? draft : history[pos];
    input.setSelectionRange(input.value.length, input.value.length);
  }

  /** Sends a command to the game and echoes it; false when not connected. */
  function submit(text) {
    if (!isOpen()) return false;
    remember(text);
    sendMsg({ type: "input", text });
    stick = jumpToBottom = true; // sending a command goes back to the bottom
    if (text) writeLine(gameStatus === "restarting" ? `${text} (queued)` : text, "echo");
    scrollSoon();
    return true;
  }

  function onEnter() {
    if (!isOpen()) { // disconnected, or waiting to reconnect: try now, keep what was typed
      connect();
      return;
    }
    const text = input.value;
    input.value = "";
    submit(text);
  }

  input.addEventListener("keydown", (e) => {
    if (e.isComposing) return;
    switch (e.key) {
      case "Enter": e.preventDefault(); onEnter(); break;
      case "ArrowUp": e.preventDefault(); historyStep(-1); break;
      case "ArrowDown": e.preventDefault(); historyStep(1); break;
      case "Escape": e.preventDefault(); input.value = ""; histPos = history.length; draft = ""; break;
      case "PageUp":
      case "PageDown": // scroll the output without leaving the input
        e.preventDefault();
        noteUserScroll();
        output.scrollBy(0, (e.key === "PageUp" ? -0.9 : 0.9) * output.clientHeight);
        break;
      default:
    }
  });
  // Mobile keyboards may submit the form without a usable keydown.
  form.addEventListener("submit", (e) => { e.preventDefault(); onEnter(); });

  // Typing while the output has focus goes to the input; a click that selects nothing too.
  document.addEventListener("keydown", (e) => {
    if (e.target === input || e.ctrlKey || e.metaKey || e.altKey) return;
    if (e.key.length === 1 && e.key !== " ") input.focus();
  });
  output.addEventListener("mouseup", () => {
    if (!String(window.getSelection() || "")) input.focus();
  });

  // Back online: do not wait out the backoff.
  window.addEventListener("online", () => { if (state === "reconnecting" && !ws) connect(); });

  // ------------------------------------------------------------------------------------------
  // Hook for automated tests (getters, so it is always current)
  // ------------------------------------------------------------------------------------------

  window.mush = {
    get connects() { return connects; },
    get state() { return state; },
    get gameStatus() { return gameStatus; },
    get gmcp() { return Object.fromEntries(gmcp); },
    get msdp() { return Object.fromEntries(msdp); },
    send: (text) => submit(String(text)),
    outputText: () => transcript.join(""),
  };

  input.focus();
  connect();
})();
