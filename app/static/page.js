// The stylize page: a photo, styles from the gallery or uploaded, weights, options, a job and its results.
import {
  ApiError, apiKey, getJson, imageSource, needsKey, percent, postForm, request, revealSurveyLinks, setApiKey,
  showError, showImage, sleep,
} from "./api.js";
import { Gallery } from "./gallery.js";
import { MaskPainter } from "./mask.js";
import { Lightbox, sweepStrip } from "./viewer.js";

const DEFAULT_WEIGHT = 50;
// The API's limits (GET /limits) replace the page's own once they arrive. Until then, or when they cannot be
// read, the page keeps these and the HTML's input ranges, which are never looser than the API's defaults.
// maxOutputs: images one job may make (samples x sweep steps); maxSideLimit 0: the server's cap is not known.
const limits = { maxStyles: 8, maxSideLimit: 0, maxOutputs: 32 };

const $ = (id) => document.getElementById(id);
const state = {
  content: null, // File
  contentUrl: "", // an object URL of it, for the preview and the before/after slider
  contentSide: 0, // its longest side in pixels, once the preview has decoded it
  selected: [], // [{style, weight}] in the order picked
  job: null, // {id, sweep, names, steps, photoUrl}
  pollToken: 0,
};
let gallery;
let lightbox;
let painter;

function fail(error) {
  $("message").className = "message error hidden";
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
  state.contentSide = 0;
  const preview = $("content-preview");
  // The last job's before/after slider still needs its own photo: only an unused URL is revoked.
  if (state.contentUrl && (!state.job || state.job.photoUrl !== state.contentUrl)) URL.revokeObjectURL(state.contentUrl);
  state.contentUrl = "";
  $("content-size").textContent = "PNG, JPEG or WebP";
  painter.setPhoto("", 0, 0);
  if (!file) {
    preview.classList.add("hidden");
    $("content-label").innerHTML = "<strong>Choose a photo</strong> or drop it here";
    renderSizeHint();
    return;
  }
  state.contentUrl = URL.createObjectURL(file);
  preview.src = state.contentUrl;
  preview.classList.remove("hidden");
  $("content-label").textContent = `${file.name} — click to change`;
  fail(null);
}

function renderSizeHint() {
  const asked = Number($("max-side").value || 0);
  const hint = $("size-hint");
  const side = state.contentSide;
  const cap = limits.maxSideLimit;
  if (asked && side && side < Math.min(asked, cap || asked)) {
    hint.textContent = `up to ${asked} px; your photo is ${side} px, so the result will be ${side} px (photos are never enlarged)`;
    hint.classList.add("warn");
  } else if (asked && cap && cap < asked) {
    // The server caps a larger size instead of refusing it: the page says so before the job does.
    hint.textContent = `up to ${asked} px; this server's limit is ${cap} px, so the result will be at most ${cap} px`;
    hint.classList.add("warn");
  } else {
    hint.textContent = "longest side, up to the photo's own: photos are never enlarged";
    hint.classList.remove("warn");
  }
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
  $("content-preview").addEventListener("load", () => {
    const preview = $("content-preview");
    state.contentSide = Math.max(preview.naturalWidth, preview.naturalHeight);
    $("content-size").textContent = `${preview.naturalWidth}×${preview.naturalHeight} px`;
    painter.setPhoto(state.contentUrl, preview.naturalWidth, preview.naturalHeight);
    renderSizeHint();
  });
}

// --- Gallery and selection -----------------------------------------------------------------------

async function loadGallery() {
  try {
    const { styles } = await getJson("/styles");
    gallery.load(styles);
    renderSelection();
  } catch (error) {
    $("featured-grid").innerHTML = '<p class="empty">The gallery could not be loaded.</p>';
    fail(error);
  }
}

function toggleStyle(id) {
  const index = state.selected.findIndex((entry) => entry.style.id === id);
  if (index >= 0) {
    state.selected.splice(index, 1);
  } else if (state.selected.length >= limits.maxStyles) {
    fail(new ApiError(0, "too_many_styles", `at most ${limits.maxStyles} styles can be blended; remove one first`));
    return;
  } else {
    state.selected.push({ style: gallery.styles.get(id), weight: DEFAULT_WEIGHT });
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
  painter.setStyles(state.selected.map((entry) => entry.style));
  gallery.markSelected(state.selected.map((entry) => entry.style.id));
  $("selected-heading").textContent = count
    ? `Selected: ${count} style${count > 1 ? "s" : ""}${count > 1 ? " — set their weights" : ""}`
    : "Selected: none yet";
  $("sweep-button").disabled = count !== 2;
  $("stylize-button").textContent = count > 1 ? "Blend styles" : "Stylize";
}

function dropStyle(id) {
  const index = state.selected.findIndex((entry) => entry.style.id === id);
  if (index >= 0) state.selected.splice(index, 1);
  renderSelection();
}

async function uploadStyle(file) {
  const form = new FormData();
  form.append("image", file);
  form.append("title", file.name.replace(/\.[^.]+$/, "").slice(0, 200));
  try {
    // The same image again answers with the style it already is (the server deduplicates by content).
    const style = await postForm("/styles", form);
    const known = gallery.styles.has(style.id);
    const tile = gallery.add(style, { first: true });
    if (tile) tile.scrollIntoView({ block: "nearest" });
    if (!state.selected.some((entry) => entry.style.id === style.id)) toggleStyle(style.id);
    if (known) showInfo(`“${style.title}” is already in your uploads: it is selected.`);
  } catch (error) {
    fail(error);
  } finally {
    $("style-upload").value = "";
  }
}

function showInfo(text) {
  const box = $("message");
  box.textContent = text;
  box.className = "message info";
}

// --- Options -------------------------------------------------------------------------------------

function wireOptions() {
  $("max-side").addEventListener("change", renderSizeHint);
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

// A sweep makes samples x steps images; the API refuses more than its limit, so the page says so before sending.
function checkOutputs(samples, steps) {
  if (samples * steps > limits.maxOutputs) {
    throw new ApiError(0, "too_many_outputs",
      `${samples} samples x ${steps} steps make ${samples * steps} images; one job makes at most ${limits.maxOutputs}: `
      + "lower the samples or the steps");
  }
}

// --- Jobs ----------------------------------------------------------------------------------------

// A new submission starts from a clean slate: no earlier job's status, note or images stay on the page,
// so that an error (or a new job's progress) cannot be read as belonging to them.
function clearLastJob() {
  state.pollToken += 1; // stops following the earlier job
  state.job = null;
  $("progress").value = 0;
  $("progress-text").textContent = "";
  $("progress-card").classList.add("hidden");
  $("results").innerHTML = '<p class="empty">Your images will appear here.</p>';
  $("results-job").classList.add("hidden");
  $("results-note").classList.add("hidden");
  $("download-all").classList.add("hidden");
}

async function submit(sweep) {
  fail(null);
  clearLastJob();
  try {
    checkReady(sweep ? 2 : 1);
    if (sweep) checkOutputs(Number($("samples").value || 1), Number($("sweep-steps").value || 5));
    const form = optionsForm();
    const names = state.selected.map((entry) => entry.style.title);
    const masks = sweep ? [] : await painter.masks();
    let url = "/stylize";
    if (masks.length) {
      // Each style where its regions were painted; a single one is a masked stylize.
      url = masks.length === 1 ? "/stylize" : "/interpolate";
      masks.forEach(({ style, blob }, k) => {
        form.append(masks.length === 1 ? "style_id" : "style_ids", style.id);
        form.append(masks.length === 1 ? "mask" : "masks", blob, `mask-${k}.png`);
      });
      form.append("feather", painter.feather());
    } else if (sweep) {
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
    state.job = {
      id: job.id,
      sweep,
      names,
      steps: Number($("sweep-steps").value || 5),
      samples: Number($("samples").value || 1),
      photoUrl: state.contentUrl,
    };
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
  const token = state.pollToken;
  $("progress-card").classList.remove("hidden");
  let delay = 250;
  for (;;) {
    const view = await getJson(`/jobs/${job.id}`);
    if (token !== state.pollToken) return; // a newer submission took over
    $("progress").value = view.progress;
    $("progress-text").textContent = `Job ${job.id.slice(0, 8)}: ${describe(view)}`;
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

// With an API key, neither an <img> nor a link can send it: both show bytes fetched with the key.
function setSource(url, ...targets) {
  const apply = (source) => targets.forEach((target) => {
    if (target instanceof HTMLImageElement) target.src = source;
    else target.href = source;
  });
  if (apiKey()) imageSource(url).then(apply, fail);
  else apply(url);
}

function resultFigure(url, caption, downloadName, open) {
  const figure = document.createElement("figure");
  figure.className = "result";
  const zoom = document.createElement("button");
  zoom.type = "button";
  zoom.className = "zoom";
  zoom.title = "Enlarge";
  zoom.setAttribute("aria-label", `Enlarge ${caption}`);
  const image = document.createElement("img");
  image.alt = caption;
  zoom.append(image);
  zoom.addEventListener("click", () => open(0));
  const figcaption = document.createElement("figcaption");
  const label = document.createElement("span");
  label.textContent = caption;
  const compare = document.createElement("button");
  compare.type = "button";
  compare.className = "compare-button";
  compare.textContent = "Compare";
  compare.title = "Before and after: this image against your photo";
  compare.addEventListener("click", () => open(50));
  const link = document.createElement("a");
  link.download = downloadName;
  link.textContent = "Download";
  setSource(url, image, link);
  figcaption.append(label, compare, link);
  figure.append(zoom, figcaption);
  return { figure, item: { image, caption, downloadName } };
}

function renderResults(job, view) {
  const results = $("results");
  results.textContent = "";
  const extension = (view.media_type || "image/png").split("/")[1];
  const name = (k) => `stylized-${job.id.slice(0, 8)}-${k}.${extension}`;
  const items = [];
  const add = (container, url, caption, index) => {
    const position = items.length;
    const { figure, item } = resultFigure(url, caption, name(index), (compareAt) => {
      lightbox.open(items, position, job.photoUrl, compareAt);
    });
    items.push(item);
    container.append(figure);
  };
  const what = job.sweep ? `a sweep ${job.names[0]} → ${job.names[1]}` : job.names.join(" + ");
  $("results-job").textContent = `Job ${job.id.slice(0, 8)}: ${what}, ${view.width}×${view.height} px.`;
  $("results-job").classList.remove("hidden");
  $("results-note").textContent = view.note ? `Size: ${view.note}.` : "";
  $("results-note").classList.toggle("hidden", !view.note);
  if (view.result_urls.length > 1) {
    setSource(`/jobs/${job.id}/results.zip`, $("download-all"));
    $("download-all").download = `stylized-${job.id.slice(0, 8)}.zip`;
    $("download-all").classList.remove("hidden");
  }
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
        add(strip, view.result_urls[index], `${percent(1 - t)} / ${percent(t)}`, index);
      }
      results.append(heading, sweepStrip(strip));
    }
  } else {
    const count = view.result_urls.length;
    if (count > 1) {
      const hint = document.createElement("p");
      hint.className = "muted samples-hint";
      hint.textContent = "The samples share their layout and differ in the fine texture and the mottling of "
        + "flat areas such as the sky or a wall. Enlarge one and flip with ← / → to see where.";
      results.append(hint);
    }
    const grid = document.createElement("div");
    grid.className = count > 1 ? "results-grid samples" : "results-grid single";
    view.result_urls.forEach((url, k) => add(grid, url, count > 1 ? `Sample ${k + 1}` : `${view.width}×${view.height}`, k));
    results.append(grid);
  }
  $("results-card").scrollIntoView({ block: "nearest", behavior: "smooth" });
}

// --- The API's limits ----------------------------------------------------------------------------

const isNumber = (value) => typeof value === "number" && Number.isFinite(value);

// An input's range set to the API's; a limit the server did not send leaves the HTML's.
function setRange(id, min, max) {
  const input = $(id);
  if (isNumber(min)) input.min = String(min);
  if (isNumber(max)) input.max = String(max);
  // A value outside the new range (the sweep's 5 steps under a lower cap) moves inside it.
  if (input.value !== "") {
    const value = Number(input.value);
    const inside = Math.min(Math.max(value, Number(input.min)), Number(input.max));
    if (inside !== value) input.value = String(inside);
  }
}

// A slider whose range is narrower on purpose keeps it, unless the API's is narrower still.
const narrowed = (id, max) => (isNumber(max) ? Math.min(Number($(id).max), max) : undefined);

function applyLimits(api) {
  if (Number.isInteger(api.max_styles) && api.max_styles >= 1) limits.maxStyles = api.max_styles;
  if (Number.isInteger(api.max_outputs) && api.max_outputs >= 1) limits.maxOutputs = api.max_outputs;
  setRange("samples", undefined, api.max_samples);
  setRange("sweep-steps", api.min_steps, api.max_steps);
  // A seed above 2^53 is not exact in the browser's numbers: the page stays below it when the API allows more.
  setRange("seed", undefined, isNumber(api.max_seed) ? Math.min(api.max_seed, Number.MAX_SAFE_INTEGER) : undefined);
  setRange("variation", undefined, narrowed("variation", api.max_variation));
  setRange("feather", undefined, narrowed("feather", api.max_feather_px));
  $("variation").dispatchEvent(new Event("input"));
  $("feather").dispatchEvent(new Event("input"));
  if (Number.isInteger(api.max_side_limit)) limits.maxSideLimit = api.max_side_limit;
  if (Number.isInteger(api.default_max_side)) {
    $("max-side").options[0].textContent = `Server default (${api.default_max_side} px)`;
  }
  renderSizeHint();
  document.querySelectorAll("[data-limit]").forEach((element) => {
    const value = element.dataset.limit === "max_styles" ? limits.maxStyles : api[element.dataset.limit];
    if (isNumber(value)) element.textContent = String(value);
  });
}

async function loadLimits() {
  let api;
  try {
    api = await getJson("/limits");
  } catch {
    return; // an unreachable or older server: the page's own limits stay, and nothing looks broken
  }
  if (api && typeof api === "object") applyLimits(api);
}

// --- Start ---------------------------------------------------------------------------------------

function main() {
  gallery = new Gallery({ onPick: toggleStyle, onDeleted: dropStyle, onError: fail });
  lightbox = new Lightbox();
  painter = new MaskPainter({ onError: fail });
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
  loadLimits();
  checkService();
  revealSurveyLinks();
  loadGallery();
}

main();
