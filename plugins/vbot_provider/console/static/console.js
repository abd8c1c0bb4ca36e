// The campaign console's only script: the resolve and erase forms, and links into Airflow's UI from inside its frame.
"use strict";

// Airflow shows the console in a sandboxed frame that may not navigate the window around it, so a link
// to a DAG run is opened by the Airflow page itself (same origin): its router moves to the new path.
function openInAirflow(event) {
  const link = event.target.closest("a[data-airflow-link]");
  if (!link || window.top === window) return;  // on its own, the console is a normal page
  event.preventDefault();
  try {
    window.top.history.pushState(null, "", link.href);
    window.top.dispatchEvent(new window.top.PopStateEvent("popstate", { state: null }));
  } catch (err) {
    window.location.assign(link.href);  // not Airflow's page around us: open it here
  }
}

async function postJson(url, body) {
  const answer = await fetch(url, {
    method: "POST",
    credentials: "same-origin",
    headers: { "Content-Type": "application/json", "Accept": "application/json" },
    body: JSON.stringify(body),
  });
  const data = await answer.json().catch(() => ({}));
  if (!answer.ok) {
    const detail = Array.isArray(data.detail) ? data.detail.map((d) => d.msg).join("; ") : data.detail;
    throw new Error(detail || `the server answered ${answer.status}`);
  }
  return data;
}

async function erase(event) {
  event.preventDefault();
  const form = event.target;
  const message = form.querySelector("output");
  const result = document.querySelector("pre.erase-result");
  const value = (name) => form.querySelector(`input[name=${name}]`).value.trim() || null;
  const body = { phone: value("phone"), crm_contact_id: value("crm_contact_id"), config: value("config"),
                 dry_run: form.querySelector("input[name=dry_run]").checked };
  message.className = "message";
  if (!body.phone === !body.crm_contact_id) { message.textContent = "Give a phone number or a CRM contact id."; return; }
  if (!body.dry_run && !window.confirm("Erase this person's data for good? This cannot be undone.")) return;
  form.querySelector("button").disabled = true;
  message.textContent = body.dry_run ? "Looking…" : "Erasing…";
  try {
    const data = await postJson(form.action, body);
    message.className = "message ok";
    message.textContent = data.dry_run ? "Dry run: nothing was changed." : "Erased.";
    result.textContent = data.lines.join("\n");
    result.hidden = false;
  } catch (err) {
    message.textContent = `Not erased: ${err.message}`;
  }
  form.querySelector("button").disabled = false;
}

async function resolve(event) {
  event.preventDefault();
  const form = event.target;
  const message = form.querySelector("output");
  const verdict = form.querySelector("input[name=verdict]:checked");
  const idText = form.querySelector("input[name=vbot_campaign_id]").value.trim();
  message.className = "message";
  if (!verdict) { message.textContent = "Choose created or not created."; return; }
  if (!form.querySelector("input[name=checked]").checked) {
    message.textContent = "Look for the campaign in VBot's portal first, then tick the box.";
    return;
  }
  const body = { run_key: form.dataset.runKey, verdict: verdict.value };
  if (verdict.value === "created") {
    if (!/^[1-9][0-9]*$/.test(idText)) { message.textContent = "Give the VBot campaign id you found (a number)."; return; }
    body.vbot_campaign_id = Number(idText);
  }
  form.querySelector("button").disabled = true;
  message.textContent = "Resolving…";
  try {
    const data = await postJson(form.action, body);
    message.className = "message ok";
    message.textContent = `Resolved: ${data.campaign_run.state}.`;
    window.location.reload();
  } catch (err) {
    message.textContent = `Not resolved: ${err.message}`;
    form.querySelector("button").disabled = false;
  }
}

document.addEventListener("click", openInAirflow);
document.querySelectorAll("form.resolve").forEach((form) => form.addEventListener("submit", resolve));
document.querySelectorAll("form.erase").forEach((form) => form.addEventListener("submit", erase));
