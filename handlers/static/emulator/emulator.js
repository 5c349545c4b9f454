/* The WhatsApp emulator's page: polls the chat, sends texts, voice notes, audio files, documents and button presses.
   Everything goes through the emulator's JSON API (handlers/emulator.py), which posts signed webhooks. */
"use strict";

(() => {
  const phone = document.getElementById("phone");
  const base = phone.dataset.base;
  const csrf = document.querySelector('meta[name="csrf-token"]').content;
  const chat = document.getElementById("chat");
  const typing = document.getElementById("typing");
  const presence = document.getElementById("presence");
  const notice = document.getElementById("notice");
  const text = document.getElementById("text");
  const fileInput = document.getElementById("file");
  const recordButton = document.getElementById("record");
  const quoteBar = document.getElementById("quote");
  const quoteText = document.getElementById("quote-text");
  const select = document.getElementById("number-select");
  const STORED = "sprachrechnung-emulator-number";
  let number = window.localStorage.getItem(STORED) || phone.dataset.number;
  const rendered = new Map(); // message id -> {key, node, record}
  const URL_PATTERN = /https?:\/\/[^\s<>"]+/g;
  const TICKS = {pending: ["…", "wird gesendet"], sent: ["✓", "gesendet"], delivered: ["✓✓", "zugestellt"],
                 read: ["✓✓", "gelesen"], failed: ["!", "nicht zugestellt"]};
  let quoting = null;
  let noticeTimer = null;
  let recorder = null;

  // --- talking to the emulator's API ---------------------------------------------------------
  async function api(path, options = {}) {
    const headers = {"X-CSRFToken": csrf, ...(options.headers || {})};
    const response = await fetch(base + path, {...options, headers, credentials: "same-origin"});
    let data = {};
    try { data = await response.json(); } catch (error) { data = {}; }
    if (!response.ok) throw new Error(data.error || `Fehler ${response.status}`);
    return data;
  }

  function postJson(path, body) {
    return api(path, {method: "POST", headers: {"Content-Type": "application/json"},
                      body: JSON.stringify({nummer: number, ...body})});
  }

  function showNotice(message) {
    notice.textContent = message;
    notice.hidden = false;
    clearTimeout(noticeTimer);
    noticeTimer = setTimeout(() => { notice.hidden = true; }, 8000);
  }

  async function run(action) {
    try {
      await action();
      await refresh();
    } catch (error) {
      showNotice(error.message);
    }
  }

  // --- rendering -------------------------------------------------------------------------------
  function el(tag, className, content) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (content !== undefined) node.textContent = content;
    return node;
  }

  function addFormatted(parent, value) {
    // WhatsApp's *bold*; everything else stays plain text
    value.split(/(\*[^*\n]+\*)/).forEach((part) => {
      if (/^\*[^*\n]+\*$/.test(part)) parent.appendChild(el("strong", null, part.slice(1, -1)));
      else if (part) parent.appendChild(document.createTextNode(part));
    });
  }

  function richText(value, className = "text") {
    const node = el("div", className);
    let last = 0;
    for (const match of value.matchAll(URL_PATTERN)) {
      let url = match[0];
      while (/[.,;:!?)]$/.test(url)) url = url.slice(0, -1);
      addFormatted(node, value.slice(last, match.index));
      const link = el("a", null, url);
      link.href = url;
      link.target = "_blank";
      link.rel = "noopener";
      node.appendChild(link);
      last = match.index + url.length;
    }
    addFormatted(node, value.slice(last));
    return node;
  }

  function timeOf(record) {
    return new Date(record.time * 1000).toLocaleTimeString("de-DE", {hour: "2-digit", minute: "2-digit"});
  }

  function summary(record) {
    if (!record) return "Nachricht";
    if (record.type === "text" || record.type === "button") return record.text.body;
    if (record.type === "interactive") return (record.interactive.body || {}).text || "Nachricht";
    if (record.type === "audio") return record.audio.voice ? "Sprachnachricht" : "Audiodatei";
    if (record.type === "document") return record.document.caption || record.document.filename;
    if (record.type === "template") return `Vorlage ${record.template.name}`;
    return record.type;
  }

  function meta(record) {
    const node = el("div", "meta", timeOf(record));
    if (record.from === "user") {
      const [mark, label] = TICKS[record.status] || TICKS.pending;
      const ticks = el("span", `ticks ${record.status}`, mark);
      ticks.setAttribute("aria-label", label);
      ticks.title = record.webhook ? `${label} (/webhook: ${record.webhook})` : label;
      node.appendChild(ticks);
    } else if (record.statuses) {
      node.title = "Status-Webhooks: " + Object.entries(record.statuses).map(([s, code]) => `${s} ${code}`).join(", ");
    }
    return node;
  }

  function quoted(record) {
    const target = rendered.get(record.context);
    return el("div", "quoted", summary(target ? target.record : null));
  }

  function userMessage(record) {
    const bubble = el("div", "bubble");
    if (record.context) bubble.appendChild(quoted(record));
    if (record.type === "audio") {
      const media = record.audio;
      bubble.appendChild(el("div", "audio-label", media.voice ? "Sprachnachricht"
        : `Audiodatei ${media.filename || ""}`));
      const audio = document.createElement("audio");
      audio.controls = true;
      audio.preload = "none";
      audio.src = phone.dataset.media.replace("MEDIA", encodeURIComponent(media.id));
      bubble.appendChild(audio);
    } else if (record.type === "document") {
      const media = record.document;
      const file = el("a", "document", `📄 ${media.filename}`);
      file.href = phone.dataset.media.replace("MEDIA", encodeURIComponent(media.id));
      file.target = "_blank";
      bubble.appendChild(file);
      if (media.caption) bubble.appendChild(richText(media.caption));
    } else {
      bubble.appendChild(richText(record.text.body));
    }
    return bubble;
  }

  function templateMessage(record, wrapper) {
    const template = record.template;
    const language = (template.language || {}).code || "";
    const bubble = el("div", "bubble");
    bubble.appendChild(el("div", "template-label", `Vorlage „${template.name}“ (${language})`));
    const body = (template.components || []).find((c) => c.type === "body");
    const code = body && body.parameters && body.parameters[0] ? body.parameters[0].text : null;
    if (code) {
      const words = language.startsWith("en") ? " is your verification code." : " ist dein Bestätigungscode.";
      const line = el("div", "text");
      line.appendChild(el("strong", null, code));
      line.appendChild(document.createTextNode(words));
      bubble.appendChild(line);
    } else {
      bubble.appendChild(el("div", "text", JSON.stringify(template.components || [])));
    }
    wrapper.appendChild(bubble);
    if (code) {
      const buttons = el("div", "buttons");
      const copy = el("button", "copy", language.startsWith("en") ? "Copy code" : "Code kopieren");
      copy.type = "button";
      copy.addEventListener("click", () => {
        text.value = code;
        text.focus();
        if (navigator.clipboard) navigator.clipboard.writeText(code).catch(() => {});
      });
      buttons.appendChild(copy);
      wrapper.appendChild(buttons);
    }
    return bubble;
  }

  function botMessage(record, wrapper) {
    if (record.type === "template") return templateMessage(record, wrapper);
    const bubble = el("div", "bubble");
    wrapper.appendChild(bubble);
    if (record.type === "text") {
      bubble.appendChild(richText(record.text.body));
    } else if (record.type === "interactive") {
      const interactive = record.interactive;
      if (interactive.header && interactive.header.text) bubble.appendChild(el("div", "header", interactive.header.text));
      bubble.appendChild(richText((interactive.body || {}).text || ""));
      if (interactive.footer && interactive.footer.text) bubble.appendChild(el("div", "footer", interactive.footer.text));
      const replies = ((interactive.action || {}).buttons || []).filter((b) => b.reply);
      if (replies.length) {
        const buttons = el("div", "buttons");
        replies.forEach((button) => {
          const press = el("button", "reply", button.reply.title);
          press.type = "button";
          press.addEventListener("click", () => run(() => postJson("/api/button",
            {message: record.id, button: button.reply.id})));
          buttons.appendChild(press);
        });
        wrapper.appendChild(buttons);
      }
    } else {
      bubble.appendChild(el("div", "text", `[${record.type}]`));
    }
    const raw = el("details", "raw");
    raw.appendChild(el("summary", null, "JSON"));
    raw.appendChild(el("pre", null, JSON.stringify(record.raw, null, 2)));
    bubble.appendChild(raw);
    return bubble;
  }

  function systemMessage(record) {
    const bubble = el("div", "bubble");
    const error = record.error || {};
    const details = (error.error_data || {}).details;
    bubble.textContent = `⚠ ${record.what} abgelehnt: ${error.message || ""}${details ? " – " + details : ""}`;
    bubble.setAttribute("role", "alert");
    return bubble;
  }

  function renderMessage(record) {
    const wrapper = el("div", `msg ${record.from}`);
    wrapper.dataset.id = record.id;
    let bubble;
    if (record.from === "user") bubble = wrapper.appendChild(userMessage(record));
    else if (record.from === "bot") bubble = botMessage(record, wrapper);
    else bubble = wrapper.appendChild(systemMessage(record));
    if (record.from !== "system") bubble.appendChild(meta(record));
    if (record.from === "bot") {
      const answer = el("button", "reply-to", "↩ Antworten");
      answer.type = "button";
      answer.addEventListener("click", () => {
        quoting = record;
        quoteText.textContent = summary(record);
        quoteBar.hidden = false;
        text.focus();
      });
      wrapper.appendChild(answer);
    }
    return wrapper;
  }

  function renderKey(record) {
    // a bot message's status changes do not rebuild it (its buttons stay the same nodes)
    const {statuses, ...rest} = record;
    if (record.from === "bot") delete rest.status;
    return JSON.stringify(rest);
  }

  function render(data) {
    const atBottom = chat.scrollHeight - chat.scrollTop - chat.clientHeight < 80;
    const seen = new Set();
    let added = false;
    for (const record of data.messages) {
      seen.add(record.id);
      const key = renderKey(record);
      const have = rendered.get(record.id);
      if (have && have.key === key) {
        have.record = record;
        continue;
      }
      rendered.set(record.id, {key, record, node: null});
      const node = renderMessage(record);
      if (have) have.node.replaceWith(node);
      else { chat.appendChild(node); added = true; }
      rendered.get(record.id).node = node;
    }
    for (const [id, entry] of rendered) {
      if (!seen.has(id)) { entry.node.remove(); rendered.delete(id); }
    }
    typing.hidden = !data.typing;
    presence.textContent = data.typing ? "schreibt …" : `Chat mit ${data.number}`;
    if (added || atBottom) chat.scrollTop = chat.scrollHeight;
  }

  async function refresh() {
    if (!number) return;
    const shown = number;
    const data = await api("/api/chat", {headers: {"X-Emulator-Number": shown}});
    if (shown === number) render(data);
  }

  async function poll() {
    try { await refresh(); } catch (error) { showNotice(error.message); }
    setTimeout(poll, 1000);
  }

  // --- sending ---------------------------------------------------------------------------------
  function sendAudio(blob, filename, voice) {
    const form = new FormData();
    form.append("nummer", number);
    form.append("voice", voice ? "1" : "0");
    form.append("audio", blob, filename);
    return run(() => api("/api/audio", {method: "POST", body: form}));
  }

  function sendDocument(file) {
    // WhatsApp sends any other file as a document; the typed text goes with it as its caption
    const form = new FormData();
    form.append("nummer", number);
    form.append("caption", text.value.trim());
    form.append("document", file, file.name);
    return run(async () => {
      await api("/api/document", {method: "POST", body: form});
      text.value = "";
    });
  }

  document.getElementById("composer").addEventListener("submit", (event) => {
    event.preventDefault();
    const value = text.value;
    if (!value.trim() || !number) return;
    const context = quoting ? quoting.id : null;
    run(async () => {
      await postJson("/api/text", {text: value, context});
      text.value = "";
      quoting = null;
      quoteBar.hidden = true;
    });
  });

  document.getElementById("quote-cancel").addEventListener("click", () => {
    quoting = null;
    quoteBar.hidden = true;
  });

  fileInput.addEventListener("change", () => {
    const file = fileInput.files[0];
    fileInput.value = "";
    if (!file || !number) return;
    if (file.type.startsWith("audio/")) sendAudio(file, file.name, false);
    else sendDocument(file);
  });

  function recordingType() {
    // WhatsApp's voice notes are Ogg/Opus; send what this browser can record, with its own mime type
    const wanted = ["audio/ogg;codecs=opus", "audio/webm;codecs=opus", "audio/mp4"];
    return wanted.find((type) => window.MediaRecorder && MediaRecorder.isTypeSupported(type)) || "";
  }

  recordButton.addEventListener("click", async () => {
    if (recorder) {
      recorder.stop();
      return;
    }
    if (!number) return;
    if (!navigator.mediaDevices || !window.MediaRecorder) {
      showNotice("Dieser Browser kann nicht aufnehmen (Mikrofon nur über https oder localhost).");
      return;
    }
    let stream;
    try {
      stream = await navigator.mediaDevices.getUserMedia({audio: true});
    } catch (error) {
      showNotice(`Kein Mikrofon: ${error.message}`);
      return;
    }
    const type = recordingType();
    const chunks = [];
    recorder = type ? new MediaRecorder(stream, {mimeType: type}) : new MediaRecorder(stream);
    recorder.addEventListener("dataavailable", (event) => { if (event.data.size) chunks.push(event.data); });
    recorder.addEventListener("stop", () => {
      stream.getTracks().forEach((track) => track.stop());
      const mime = recorder.mimeType || type || "audio/ogg";
      recorder = null;
      recordButton.classList.remove("recording");
      recordButton.setAttribute("aria-pressed", "false");
      recordButton.setAttribute("aria-label", "Sprachnachricht aufnehmen");
      const extension = mime.includes("ogg") ? "ogg" : mime.includes("webm") ? "webm" : "m4a";
      sendAudio(new Blob(chunks, {type: mime}), `sprachnachricht.${extension}`, true);
    });
    recorder.start();
    recordButton.classList.add("recording");
    recordButton.setAttribute("aria-pressed", "true");
    recordButton.setAttribute("aria-label", "Aufnahme beenden und senden");
  });

  document.getElementById("clear").addEventListener("click", () => {
    if (number) run(() => postJson("/api/clear", {}));
  });

  // --- choosing the number (kept in this browser, never in a URL) ---------------------------------
  function show(value) {
    number = value;
    if (value) window.localStorage.setItem(STORED, value);
    if (value && ![...select.options].some((option) => option.value === value)) {
      select.appendChild(new Option(value, value));
    }
    select.value = value;
    for (const [id, entry] of rendered) { entry.node.remove(); rendered.delete(id); }
    quoting = null;
    quoteBar.hidden = true;
    const empty = chat.querySelector(".empty");
    if (empty && value) empty.remove();
    for (const control of [text, fileInput, recordButton, document.getElementById("send")]) control.disabled = !value;
    return refresh();
  }

  async function open(value) {
    try {
      const checked = await postJson("/api/open", {nummer: value});
      document.getElementById("number-new").value = "";
      await show(checked.number);
    } catch (error) {
      showNotice(error.message);
    }
  }

  select.addEventListener("change", () => open(select.value));
  document.getElementById("number-form").addEventListener("submit", (event) => {
    event.preventDefault();
    open(document.getElementById("number-new").value.trim() || select.value);
  });

  show(number).catch((error) => showNotice(error.message));
  setTimeout(poll, 1000);
})();
