// Tells the desk which time zone this browser reads in, so pages show times in it (an
// account's own setting wins). Without this file the desk uses the support model's zone.
(function () {
  var zone;
  try {
    zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
  } catch (e) {
    return;
  }
  if (!zone || !/^[A-Za-z0-9_+\-\/]{1,64}$/.test(zone)) return;
  var current = document.cookie.split("; ").filter(function (c) {
    return c.indexOf("desk_tz=") === 0;
  })[0];
  var value = encodeURIComponent(zone);
  if (current === "desk_tz=" + value) return;
  document.cookie = "desk_tz=" + value + "; path=/; max-age=31536000; samesite=lax";
  // The page that set it was drawn in the desk's zone; the next one is in this one.
})();
