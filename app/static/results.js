// The survey results: per-method rates with 95% Wilson intervals, and the head-to-head pairs (computed by the
// server).
import { getJson, percent, revealSurveyLinks, showError } from "./api.js";

const $ = (id) => document.getElementById(id);

function rateCell(rate) {
  const cell = document.createElement("td");
  cell.className = "num";
  if (rate.rate == null) {
    cell.textContent = "no votes yet";
    cell.classList.add("muted");
    return cell;
  }
  const text = document.createElement("div");
  text.textContent = `${percent(rate.rate, 1)} (${percent(rate.ci_low, 1)}–${percent(rate.ci_high, 1)})`;
  const bar = document.createElement("div");
  bar.className = "ci-bar";
  bar.setAttribute("aria-hidden", "true");
  const interval = document.createElement("span");
  interval.style.left = percent(rate.ci_low, 2);
  interval.style.width = percent(rate.ci_high - rate.ci_low, 2);
  const point = document.createElement("i");
  point.style.left = percent(rate.rate, 2);
  bar.append(interval, point);
  cell.append(text, bar);
  return cell;
}

function countCell(rate) {
  const cell = document.createElement("td");
  cell.className = "num";
  cell.textContent = `${rate.hits} / ${rate.trials}`;
  return cell;
}

function emptyCell(text) {
  const cell = document.createElement("td");
  cell.className = "muted";
  cell.textContent = text;
  return cell;
}

function methodRow(label, description, preference, deception) {
  const row = document.createElement("tr");
  const name = document.createElement("th");
  name.scope = "row";
  name.textContent = label;
  if (description) {
    const small = document.createElement("div");
    small.className = "muted";
    small.textContent = description;
    name.append(small);
  }
  row.append(name);
  if (preference) row.append(rateCell(preference), countCell(preference));
  else row.append(emptyCell("not in the preference task"), emptyCell("—"));
  row.append(rateCell(deception), countCell(deception));
  return row;
}

function deceptionCell(rate) {
  if (!rate || rate.rate == null) return emptyCell(rate ? "no judgments yet" : "—");
  const cell = countCell(rate);
  cell.textContent = `${percent(rate.rate, 1)} (${rate.hits} / ${rate.trials})`;
  return cell;
}

// One row per pair of methods that items show alone (ours against each baseline), both orders pooled.
function showPairs(results) {
  const byId = new Map(results.methods.map((method) => [method.id, method]));
  const label = (id) => byId.get(id)?.label ?? id;
  const body = document.querySelector("#pairs-table tbody");
  body.textContent = "";
  const pairs = results.head_to_head ?? [];
  const empty = $("pairs-empty");
  const votes = pairs.reduce((sum, pair) => sum + pair.first_preferred.trials, 0);
  if (!pairs.length) {
    empty.textContent = "This survey set has no items that show two methods alone, so there is no head-to-head "
      + "comparison; the table above counts every vote.";
  } else if (votes === 0) {
    empty.textContent = "No votes on the head-to-head items yet.";
  }
  empty.classList.toggle("hidden", pairs.length > 0 && votes > 0);
  $("pairs-wrap").classList.toggle("hidden", !pairs.length);
  for (const pair of pairs) {
    const row = document.createElement("tr");
    row.dataset.pair = `${pair.first}:${pair.second}`;
    const name = document.createElement("th");
    name.scope = "row";
    name.textContent = `${label(pair.first)} vs ${label(pair.second)}`;
    row.append(
      name,
      rateCell(pair.first_preferred),
      countCell(pair.first_preferred),
      deceptionCell(byId.get(pair.first)?.deception),
      deceptionCell(byId.get(pair.second)?.deception),
    );
    body.append(row);
  }
  $("pairs").classList.remove("hidden");
}

async function main() {
  try {
    const status = await revealSurveyLinks();
    if (!status || !status.available) {
      $("unavailable").textContent = "There is no survey running at the moment, so there are no results to show.";
      $("unavailable").classList.remove("hidden");
      return;
    }
    const results = await getJson("/survey/api/results");
    $("participants").textContent = results.participants;
    $("preference-votes").textContent = results.preference_votes;
    $("deception-judgments").textContent = results.deception_judgments;
    const body = document.querySelector("#results-table tbody");
    body.textContent = "";
    for (const method of results.methods) {
      const row = methodRow(method.label, method.description, method.preference, method.deception);
      row.dataset.method = method.id;
      body.append(row);
    }
    const control = methodRow(
      "Real paintings (control)", "Paintings made by people, recognised as real.", null, results.real_paintings,
    );
    control.dataset.method = "real";
    body.append(control);
    const baseline = results.deterministic_baseline;
    $("baseline-note").textContent = `Deterministic baseline: ${baseline.note}`
      + (baseline.checkpoint ? ` (${baseline.checkpoint}).` : ".");
    $("set-note").textContent = `Survey set ${results.set_id}, prepared ${results.created_at} with ${results.checkpoint}.`;
    $("report").classList.remove("hidden");
    showPairs(results);
  } catch (error) {
    showError($("message"), error);
  }
}

main();
