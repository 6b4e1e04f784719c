// The stylize page: a photo, styles from the gallery or uploaded, weights, options, a job and its results.
import {
  ApiError, apiKey, getJson, imageSource, needsKey, percent, postForm, request, setApiKey, showError, showImage, sleep,
} from "./api.js";

const MAX_STYLES = 8;
const DEFAULT_WEIGHT = 50;

const $ = (id) => document.getElementById(id);
const state = {
  content: null, // File
  styles: new Map(), // id -> style view from GET /styles
  selected: [], // [{style, weight}] in the order picked
  job: null, // {id, kind, sweep, names}
  pollToken: 0,
};

function fail(error) {
  showError($("message"), error);
  if (needsKey(error)) showKeyForm();
  if (error) $("message").scrollIntoView({ block: "nearest", behavior: "smooth" });
}

// --- API key (only for a server started with VST_API_KEYS) ---------------------------------------

function showKeyForm() {
  $("key-form").classList.remove("hidden");
  $("api-key").value = apiKey();
}

function wireKeyForm() {
  $("key-form").addEventListener("submit", (event) => {
    event.preventDefault();
    setApiKey($("api-key").value.trim());
    fail(null);
    loadGallery();
  });
  $("forget-key").addEventListener("click", () => {
    setApiKey("");
    $("api-key").value = "";
  });
  if (apiKey()) showKeyForm();
}

// --- Service status ------------------------------------------------------------------------------

async function checkService() {
  const line = $("service-status");
  try {
    const ready = await getJson("/readyz");
    line.textContent = `Ready: ${ready.workers.length} worker(s) with the model loaded, ${ready.queued_jobs} job(s) queued.`;
    line.className = "status-line ready muted";
  } catch (error) {
    line.textContent = error instanceof ApiError && error.code === "no_worker"
      ? `No worker is running yet: jobs wait in the queue until one starts. (${error.message})`
      : `The service is not ready: ${error.message}`;
    line.className = "status-line not-ready muted";
  }
}

// --- The photo -----------------------------------------------------------------------------------

function setContent(file) {
  state.content = file || null;
  const preview = $("content-preview");
  if (!file) {
    preview.classList.add("hidden");
    $("content-label").innerHTML = "<strong>Choose a photo</strong> or drop it here";
    return;
  }
  preview.src = URL.createObjectURL(file);
  preview.classList.remove("hidden");
  $("content-label").textContent = `${file.name} — click to change`;
  fail(null);
}

function wireContent() {
  const input = $("content-input");
  const drop = $("content-drop");
  input.addEventListener("change", () => setContent(input.files[0]));
  drop.addEventListener("dragover", (event) => {
    event.preventDefault();
    drop.classList.add("dragging");
  });
  drop.addEventListener("dragleave", () => drop.classList.remove("dragging"));
  drop.addEventListener("drop", (event) => {
    event.preventDefault();
    drop.classList.remove("dragging");
    if (event.dataTransfer.files.length) setContent(event.dataTransfer.files[0]);
  });
  // A broken preview is not an error yet: the server decides what is an image, and says why.
  $("content-preview").addEventListener("error", () => $("content-preview").classList.add("hidden"));
}

// --- Gallery and selection -----------------------------------------------------------------------

function styleButton(style) {
  const button = document.createElement("button");
  button.type = "button";
  button.dataset.styleId = style.id;
  button.setAttribute("aria-pressed", "false");
  button.title = style.artist ? `${style.title} — ${style.artist}` : style.title;
  const image = document.createElement("img");
  image.alt = style.title;
  image.loading = "lazy";
  showImage(image, style.image_url);
  const caption = document.createElement("span");
  caption.textContent = style.title;
  button.append(image, caption);
  button.addEventListener("click", () => toggleStyle(style.id));
  return button;
}

async function loadGallery() {
  const gallery = $("gallery");
  try {
    const { styles } = await getJson("/styles");
    // An upload can finish before this listing arrives: keep it, first, as uploadStyle placed it.
    const listed = new Set(styles.map((style) => style.id));
    const uploadedMeanwhile = [...state.styles.values()].filter((style) => !listed.has(style.id));
    gallery.textContent = "";
    for (const style of [...uploadedMeanwhile, ...styles]) {
      state.styles.set(style.id, style);
      gallery.append(styleButton(style));
    }
    if (!state.styles.size) gallery.innerHTML = '<p class="empty">No styles yet: upload one.</p>';
    renderSelection();
  } catch (error) {
    gallery.innerHTML = '<p class="empty">The gallery could not be loaded.</p>';
    fail(error);
  }
}

function toggleStyle(id) {
  const index = state.selected.findIndex((entry) => entry.style.id === id);
  if (index >= 0) {
    state.selected.splice(index, 1);
  } else if (state.selected.length >= MAX_STYLES) {
    fail(new ApiError(0, "too_many_styles", `at most ${MAX_STYLES} styles can be blended; remove one first`));
    return;
  } else {
    state.selected.push({ style: state.styles.get(id), weight: DEFAULT_WEIGHT });
    fail(null);
  }
  renderSelection();
}

function normalisedWeights() {
  const total = state.selected.reduce((sum, entry) => sum + entry.weight, 0);
  return state.selected.map((entry) => (total > 0 ? entry.weight / total : 0));
}

function renderShares() {
  const shares = normalisedWeights();
  document.querySelectorAll("#selected output").forEach((output, k) => {
    output.textContent = percent(shares[k]);
  });
}

function renderSelection() {
  const list = $("selected");
  const count = state.selected.length;
  list.textContent = "";
  list.classList.toggle("single", count < 2);
  state.selected.forEach((entry, k) => {
    const item = document.createElement("li");
    const image = document.createElement("img");
    image.alt = "";
    showImage(image, entry.style.image_url);
    const title = document.createElement("span");
    title.className = "title";
    title.textContent = entry.style.title;
    item.append(image, title);
    if (count >= 2) {
      const slider = document.createElement("input");
      slider.type = "range";
      slider.min = "0";
      slider.max = "100";
      slider.step = "1";
      slider.value = String(entry.weight);
      slider.className = "weight";
      slider.setAttribute("aria-label", `Weight of ${entry.style.title}`);
      slider.addEventListener("input", () => {
        entry.weight = Number(slider.value);
        renderShares();
      });
      const share = document.createElement("output");
      share.className = "share";
      item.append(slider, share);
    }
    const remove = document.createElement("button");
    remove.type = "button";
    remove.textContent = "✕";
    remove.setAttribute("aria-label", `Remove ${entry.style.title}`);
    remove.addEventListener("click", () => toggleStyle(entry.style.id));
    item.append(remove);
    list.append(item);
  });
  renderShares();
  document.querySelectorAll("#gallery button").forEach((button) => {
    const k = state.selected.findIndex((entry) => entry.style.id === button.dataset.styleId);
    button.setAttribute("aria-pressed", String(k >= 0));
    button.dataset.order = k >= 0 ? String(k + 1) : "";
  });
  $("selected-heading").textContent = count
    ? `Selected: ${count} style${count > 1 ? "s" : ""}${count > 1 ? " — set their weights" : ""}`
    : "Selected: none yet";
  $("sweep-button").disabled = count !== 2;
  $("stylize-button").textContent = count > 1 ? "Blend styles" : "Stylize";
}

async function uploadStyle(file) {
  const form = new FormData();
  form.append("image", file);
  form.append("title", file.name.replace(/\.[^.]+$/, "").slice(0, 200));
  try {
    const style = await postForm("/styles", form);
    state.styles.set(style.id, style);
    const button = styleButton(style);
    $("gallery").prepend(button);
    button.scrollIntoView({ block: "nearest" });
    toggleStyle(style.id);
  } catch (error) {
    fail(error);
  } finally {
    $("style-upload").value = "";
  }
}

// --- Options -------------------------------------------------------------------------------------

function wireOptions() {
  for (const [id, digits] of [["alpha", 2], ["variation", 1]]) {
    const input = $(id);
    const show = () => { $(`${id}-value`).textContent = Number(input.value).toFixed(digits); };
    input.addEventListener("input", show);
    show();
  }
}

function optionsForm() {
  const form = new FormData();
  form.append("content", state.content);
  form.append("alpha", $("alpha").value);
  form.append("variation", $("variation").value);
  form.append("samples", $("samples").value || "1");
  if ($("seed").value !== "") form.append("seed", $("seed").value);
  if ($("max-side").value) form.append("max_side", $("max-side").value);
  form.append("format", $("format").value);
  form.append("preserve_color", $("preserve-color").checked ? "true" : "false");
  return form;
}

function checkReady(needStyles) {
  if (!state.content) throw new ApiError(0, "missing_photo", "choose a photo first (step 1)");
  if (state.selected.length < needStyles) {
    throw new ApiError(0, "missing_style", needStyles > 1
      ? `pick exactly ${needStyles} styles for a sweep`
      : "pick at least one style from the gallery or upload your own (step 2)");
  }
}

// --- Jobs ----------------------------------------------------------------------------------------

async function submit(sweep) {
  fail(null);
  try {
    checkReady(sweep ? 2 : 1);
    const form = optionsForm();
    const names = state.selected.map((entry) => entry.style.title);
    let url = "/stylize";
    if (sweep) {
      url = "/interpolate";
      state.selected.forEach((entry) => form.append("style_ids", entry.style.id));
      form.append("steps", $("sweep-steps").value || "5");
    } else if (state.selected.length === 1) {
      form.append("style_id", state.selected[0].style.id);
    } else {
      url = "/interpolate";
      state.selected.forEach((entry) => form.append("style_ids", entry.style.id));
      form.append("weights", state.selected.map((entry) => entry.weight).join(","));
    }
    setBusy(true);
    const job = await postForm(url, form);
    state.job = { id: job.id, sweep, names, steps: Number($("sweep-steps").value || 5) };
    await follow(state.job);
  } catch (error) {
    fail(error);
    setBusy(false);
  }
}

function setBusy(busy) {
  $("stylize-button").disabled = busy;
  $("sweep-button").disabled = busy || state.selected.length !== 2;
  $("progress-card").classList.toggle("hidden", !busy && !state.job);
  $("cancel-button").disabled = !busy;
}

function describe(view) {
  const done = percent(view.progress);
  switch (view.status) {
    case "queued":
      return view.queue_position != null
        ? `Queued — ${view.queue_position === 0 ? "next in line" : `${view.queue_position} job(s) ahead`}.`
        : "Queued.";
    case "started":
      return `Stylizing… ${done}`;
    case "finished": {
      const seconds = view.timings && view.timings.run_seconds;
      return `Done${seconds != null ? ` in ${seconds.toFixed(1)} s` : ""}: ${view.result_urls.length} image(s).`;
    }
    case "canceled":
      return "Canceled.";
    default:
      return `Failed: ${view.error ? view.error.message : "unknown reason"}`;
  }
}

async function follow(job) {
  const token = ++state.pollToken;
  $("progress-card").classList.remove("hidden");
  let delay = 250;
  for (;;) {
    const view = await getJson(`/jobs/${job.id}`);
    if (token !== state.pollToken) return; // a newer job took over
    $("progress").value = view.progress;
    $("progress-text").textContent = describe(view);
    if (view.status === "finished") {
      renderResults(job, view);
      break;
    }
    if (view.status === "failed") {
      const error = view.error || { code: "failed", message: "the job failed" };
      fail(new ApiError(0, error.code, error.message));
      break;
    }
    if (view.status === "canceled") break;
    await sleep(delay);
    delay = Math.min(1000, delay * 1.5);
  }
  setBusy(false);
}

async function cancel() {
  if (!state.job) return;
  try {
    await request(`/jobs/${state.job.id}`, { method: "DELETE" });
  } catch (error) {
    fail(error);
  }
}

// --- Results -------------------------------------------------------------------------------------

function resultFigure(url, caption, downloadName) {
  const figure = document.createElement("figure");
  figure.className = "result";
  const image = document.createElement("img");
  image.alt = caption;
  const figcaption = document.createElement("figcaption");
  const label = document.createElement("span");
  label.textContent = caption;
  const link = document.createElement("a");
  link.download = downloadName;
  if (apiKey()) {
    // The key cannot ride on an <img> or a link: both show the bytes fetched with it.
    imageSource(url).then((source) => { image.src = link.href = source; }, fail);
  } else {
    image.src = link.href = url;
  }
  link.textContent = "Download";
  figcaption.append(label, link);
  figure.append(image, figcaption);
  return figure;
}

function renderResults(job, view) {
  const results = $("results");
  results.textContent = "";
  const extension = (view.media_type || "image/png").split("/")[1];
  const name = (k) => `stylized-${job.id.slice(0, 8)}-${k}.${extension}`;
  if (job.sweep) {
    // Results come step-major: index = step * samples + sample.
    const steps = job.steps;
    const samples = Math.max(1, Math.round(view.result_urls.length / steps));
    for (let s = 0; s < samples; s++) {
      const heading = document.createElement("p");
      heading.className = "muted";
      heading.textContent = `${job.names[0]} → ${job.names[1]}${samples > 1 ? ` (sample ${s + 1})` : ""}`;
      const strip = document.createElement("div");
      strip.className = "strip";
      strip.dataset.kind = "sweep";
      for (let k = 0; k < steps; k++) {
        const t = steps > 1 ? k / (steps - 1) : 0;
        const index = k * samples + s;
        strip.append(resultFigure(view.result_urls[index], `${percent(1 - t)} / ${percent(t)}`, name(index)));
      }
      results.append(heading, strip);
    }
  } else {
    const grid = document.createElement("div");
    grid.className = "results-grid";
    view.result_urls.forEach((url, k) => {
      const caption = view.result_urls.length > 1 ? `Sample ${k + 1}` : `${view.width}×${view.height}`;
      grid.append(resultFigure(url, caption, name(k)));
    });
    results.append(grid);
  }
  $("results-card").scrollIntoView({ block: "nearest", behavior: "smooth" });
}

// --- Start ---------------------------------------------------------------------------------------

function main() {
  wireKeyForm();
  wireContent();
  wireOptions();
  $("style-upload").addEventListener("change", (event) => {
    if (event.target.files.length) uploadStyle(event.target.files[0]);
  });
  $("stylize-button").addEventListener("click", () => submit(false));
  $("sweep-button").addEventListener("click", () => submit(true));
  $("cancel-button").addEventListener("click", cancel);
  renderSelection();
  checkService();
  loadGallery();
}

main();
