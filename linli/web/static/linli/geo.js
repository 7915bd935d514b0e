// Optional location for forms marked data-geo (patrol check-in/out): filled in when the phone
// allows it; the forms work without it.
document.querySelectorAll("form[data-geo]").forEach(function (form) {
  if (!navigator.geolocation) return;
  navigator.geolocation.getCurrentPosition(function (pos) {
    form.querySelector("input[name=lat]").value = pos.coords.latitude.toFixed(6);
    form.querySelector("input[name=lng]").value = pos.coords.longitude.toFixed(6);
  }, function () {}, {timeout: 5000});
});
