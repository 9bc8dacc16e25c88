// CloudFront Function (cloudfront-js-2.0), viewer request, default behaviour only (the S3 origin).
//
// A single-page app's client-side routes (/orders/42) are not files in the bucket. A path whose last
// segment has no file extension is a navigation, so it gets /index.html and the SPA routes it. Paths
// with an extension (/assets/app-abc.js, /favicon.svg) go to S3 unchanged, so a missing file stays a
// 404 instead of "loading" index.html as a script. /api/* never runs this: it is another behaviour,
// which is why this replaces the distribution-wide "404 -> /index.html" error page, which would
// also rewrite the API's own 404s.
//
// CloudFront runs this file as a script: no import/export, and `handler` is the entry point.

// eslint-disable-next-line @typescript-eslint/no-unused-vars
function handler(event) {
  var request = event.request;
  var lastSegment = request.uri.slice(request.uri.lastIndexOf('/') + 1);
  if (lastSegment.indexOf('.') === -1) {
    request.uri = '/index.html';
  }
  return request;
}
