// The survey: preference (pick the most appealing of 2-3 stylizations) and deception (mark the real artworks).
import { getJson, postJson, revealSurveyLinks, showError } from "./api.js";

const $ = (id) => document.getElementById(id);
const LETTERS = "ABC";
let deceptionTasks = [];

function fail(error) {
  showError($("message"), error);
}

function selectTab(name) {
  for (const tab of ["preference", "deception"]) {
    const active = tab === name;
    $(`tab-${tab}`).setAttribute("aria-selected", String(active));
    $(tab).classList.toggle("hidden", !active);
  }
  if (name === "deception" && !deceptionTasks.length) loadDeception();
}

// --- Preference ----------------------------------------------------------------------------------

async function loadPreference() {
  try {
    const next = await getJson("/survey/api/preference/next");
    $("preference-progress").textContent = `(${next.done} of ${next.total} done)`;
    const task = next.task;
    $("preference-task").classList.toggle("hidden", !task);
    $("preference-done").classList.toggle("hidden", Boolean(task));
    if (!task) return;
    $("pref-content").src = task.content.url;
    $("pref-style").src = task.style.url;
    const candidates = $("candidates");
    candidates.textContent = "";
    task.candidates.forEach((candidate, k) => {
      const button = document.createElement("button");
      button.type = "button";
      button.className = "candidate";
      button.dataset.choice = candidate.id;
      const figure = document.createElement("figure");
      const image = document.createElement("img");
      image.src = candidate.url;
      image.alt = `Stylization ${LETTERS[k]}`;
      const caption = document.createElement("figcaption");
      caption.textContent = `${LETTERS[k]} — pick this one`;
      figure.append(image, caption);
      button.append(figure);
      button.addEventListener("click", () => votePreference(task.item_id, candidate.id));
      candidates.append(button);
    });
  } catch (error) {
    fail(error);
  }
}

async function votePreference(itemId, choice) {
  fail(null);
  document.querySelectorAll("#candidates button").forEach((button) => { button.disabled = true; });
  try {
    await postJson("/survey/api/preference/votes", { item_id: itemId, choice });
  } catch (error) {
    fail(error);
  }
  await loadPreference();
}

// --- Deception -----------------------------------------------------------------------------------

async function loadDeception() {
  try {
    const next = await getJson("/survey/api/deception/next?count=6");
    deceptionTasks = next.tasks;
    $("deception-progress").textContent = `(${next.done} of ${next.total} done)`;
    const grid = $("judge-grid");
    grid.textContent = "";
    const done = !next.tasks.length;
    $("deception-done").classList.toggle("hidden", !done);
    $("deception-actions").classList.toggle("hidden", done);
    next.tasks.forEach((task, k) => {
      const button = document.createElement("button");
      button.type = "button";
      button.className = "judge";
      button.dataset.itemId = task.item_id;
      button.setAttribute("aria-pressed", "false");
      const image = document.createElement("img");
      image.src = task.image.url;
      image.alt = `Image ${k + 1}`;
      const verdict = document.createElement("span");
      verdict.className = "verdict";
      verdict.textContent = "Not marked";
      button.append(image, verdict);
      button.addEventListener("click", () => {
        const real = button.getAttribute("aria-pressed") !== "true";
        button.setAttribute("aria-pressed", String(real));
        verdict.textContent = real ? "✓ Real artwork" : "Not marked";
      });
      grid.append(button);
    });
  } catch (error) {
    fail(error);
  }
}

async function submitDeception() {
  fail(null);
  const judgments = [...document.querySelectorAll("#judge-grid .judge")].map((button) => ({
    item_id: button.dataset.itemId,
    real: button.getAttribute("aria-pressed") === "true",
  }));
  if (!judgments.length) return;
  $("deception-submit").disabled = true;
  try {
    await postJson("/survey/api/deception/votes", { judgments });
  } catch (error) {
    fail(error);
  } finally {
    $("deception-submit").disabled = false;
  }
  await loadDeception();
}

// --- Start ---------------------------------------------------------------------------------------

// Visitors see a plain note; how to prepare a survey set is in the operator's docs, not on this page.
function showClosed() {
  const box = $("unavailable");
  box.textContent = "There is no survey running at the moment. Thank you for looking in! Meanwhile, you can ";
  const link = document.createElement("a");
  link.href = "/";
  link.textContent = "turn a photo into a painting";
  box.append(link, ".");
  box.classList.remove("hidden");
}

async function main() {
  $("tab-preference").addEventListener("click", () => selectTab("preference"));
  $("tab-deception").addEventListener("click", () => selectTab("deception"));
  $("deception-submit").addEventListener("click", submitDeception);
  try {
    const status = await revealSurveyLinks();
    if (!status || !status.available) {
      showClosed();
      return;
    }
    $("survey").classList.remove("hidden");
    await loadPreference();
  } catch (error) {
    fail(error);
  }
}

main();
