// The demo pages' shared status line and state: document.body.dataset.state
// is what the browser tests wait on ('ready', 'training', 'trained', 'error'),
// #status is what the user reads.

export function setState(state) { document.body.dataset.state = state; }

export function setStatus(text, isError = false) {
  const status = document.getElementById('status');
  status.textContent = text;
  status.classList.toggle('error', isError);
}

/** Reports an error on the page and the console, and marks the page failed. */
export function fail(e) {
  console.error(e);
  setStatus(`Error: ${e?.message ?? e}`, true);
  setState('error');
}
