// Keyboard and selection for the triage queue, on top of a page that works without this
// file: j/k move between tickets, x ticks, o or Enter opens, a assigns to me, / searches,
// ? shows the keys. Ticking every ticket at once and the count of ticked ones live here
// too. Keys typed into a field are the field's, never a shortcut.
document.addEventListener("DOMContentLoaded", function () {
  var form = document.getElementById("bulk-form");
  var table = document.getElementById("queue-table");
  if (!form || !table) return;
  var rows = Array.prototype.slice.call(table.querySelectorAll("tbody tr.queue-row"));
  var boxes = rows.map(function (row) {
    return row.querySelector("input[name=ticket]");
  });
  var selectAll = document.getElementById("select-all");
  var count = document.getElementById("selected-count");
  var keys = document.getElementById("queue-keys");
  var keysToggle = document.getElementById("keys-toggle");
  var search = document.getElementById("queue-search");
  var current = -1;

  function ticked() {
    return boxes.filter(function (box) {
      return box && box.checked;
    }).length;
  }

  function showCount() {
    var n = ticked();
    count.textContent = n === 1 ? "1 ticket selected" : n + " tickets selected";
    selectAll.checked = n > 0 && n === boxes.length;
    selectAll.indeterminate = n > 0 && n < boxes.length;
    rows.forEach(function (row, i) {
      row.classList.toggle("ticked", !!(boxes[i] && boxes[i].checked));
    });
  }

  count.hidden = false;
  selectAll.hidden = false;
  keysToggle.hidden = false;
  rows.forEach(function (row, i) {
    row.tabIndex = -1;
    row.addEventListener("focusin", function () {
      current = i;
    });
  });
  boxes.forEach(function (box) {
    if (box) box.addEventListener("change", showCount);
  });
  selectAll.addEventListener("change", function () {
    boxes.forEach(function (box) {
      if (box) box.checked = selectAll.checked;
    });
    showCount();
  });
  showCount();

  function toggleKeys(show) {
    var open = typeof show === "boolean" ? show : keys.hidden;
    keys.hidden = !open;
    keysToggle.setAttribute("aria-expanded", open ? "true" : "false");
  }
  keysToggle.addEventListener("click", function () {
    toggleKeys();
  });

  function move(step) {
    if (rows.length === 0) return;
    var next = current < 0 ? 0 : Math.min(rows.length - 1, Math.max(0, current + step));
    current = next;
    rows[next].focus();
    rows[next].scrollIntoView({ block: "nearest" });
  }

  function open() {
    var link = current >= 0 && rows[current].querySelector("a.ticket-link");
    if (link) window.location.href = link.href;
  }

  // "a": one ticket to me, through the bulk form's own endpoint, leaving the ticks as
  // they are.
  function assignToMe() {
    if (current < 0) return;
    var post = document.createElement("form");
    post.method = "post";
    // The form has a control named "action", which shadows the form's own property.
    post.action = form.getAttribute("action");
    post.hidden = true;
    var fields = {
      csrf_token: form.elements.csrf_token.value,
      back: form.elements.back.value,
      ticket: rows[current].getAttribute("data-ticket"),
      action: "assign:me",
    };
    Object.keys(fields).forEach(function (name) {
      var input = document.createElement("input");
      input.type = "hidden";
      input.name = name;
      input.value = fields[name];
      post.appendChild(input);
    });
    document.body.appendChild(post);
    post.submit();
  }

  // Fields that take typed text (and lists that jump by letter) keep their keys.
  function typing(target) {
    if (!target) return false;
    if (target.isContentEditable) return true;
    var tag = target.tagName;
    if (tag === "SELECT" || tag === "TEXTAREA") return true;
    if (tag !== "INPUT") return false;
    return ["checkbox", "radio", "submit", "button", "hidden"].indexOf(target.type) < 0;
  }

  document.addEventListener("keydown", function (event) {
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    if (event.key === "Escape" && !keys.hidden) {
      toggleKeys(false);
      return;
    }
    if (typing(event.target)) return;
    var onRow = event.target && event.target.classList && event.target.classList.contains("queue-row");
    switch (event.key) {
      case "j":
        move(1);
        break;
      case "k":
        move(-1);
        break;
      case "x":
        if (current < 0 || !boxes[current]) return;
        boxes[current].checked = !boxes[current].checked;
        showCount();
        break;
      case "o":
        open();
        break;
      case "Enter":
        // Enter on a link or button is theirs; on a row it opens the ticket.
        if (!onRow) return;
        open();
        break;
      case "a":
        assignToMe();
        break;
      case "/":
        search.focus();
        search.select();
        break;
      case "?":
        toggleKeys();
        break;
      default:
        return;
    }
    event.preventDefault();
  });
});
