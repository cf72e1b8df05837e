// A page that is still changing (a running drill) reloads itself every few seconds while
// it says so; "Stop updating" keeps it still for reading. Without this script the page
// works the same and is reloaded by hand.
(function () {
  var box = document.querySelector("[data-refresh-seconds]");
  if (!box) return;
  var seconds = Number(box.getAttribute("data-refresh-seconds")) || 2;
  var timer = setTimeout(function () { location.reload(); }, seconds * 1000);
  var stop = document.getElementById("stop-refresh");
  if (!stop) return;
  stop.hidden = false;
  stop.addEventListener("click", function () {
    clearTimeout(timer);
    stop.disabled = true;
    stop.textContent = "Updates stopped; reload to see new steps";
  });
})();
