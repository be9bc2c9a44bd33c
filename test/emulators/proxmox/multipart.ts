/**
 * The upload body as pve-http-server `PVE::APIServer::AnyEvent::file_upload_multipart` reads
 * it: the form fields `content`, `checksum-algorithm` and `checksum`, each optional but only in
 * that order, then the file part, which must be named `filename` (its file name becomes the
 * `filename` parameter). PVE parses the stream with these regexes in this order; a body laid
 * out otherwise never reaches the file phase and fails with "upload failed" (500). The
 * emulator holds the whole body in memory (test images are small).
 */
import { httpError } from "./errors";

/** file_upload_multipart answers its own errors with 500 and the text. */
const die = (message: string) => httpError(500, message);

export interface MultipartUpload {
  readonly fields: Record<string, string>;
  readonly file: Buffer;
}

const FIELD_ORDER = ["content", "checksum-algorithm", "checksum"];

/** `multipart/form-data; boundary=…` → the boundary (PVE `parse_content_type`). */
export function multipartBoundary(contentType: string | undefined): string | undefined {
  const [ct, ...params] = (contentType ?? "").split(/\s*[;,]\s*/);
  if (ct !== "multipart/form-data") return undefined;
  for (const p of params) {
    const m = /^\s*boundary\s*=\s*(\S+?)\s*$/.exec(p);
    if (m) return m[1].replace(/^"(.*)"$/, "$1");
  }
  return undefined;
}

export function parseMultipartUpload(body: Buffer, boundary: string): MultipartUpload {
  const delim = Buffer.from(`--${boundary}`);
  const parts: Buffer[] = [];
  let at = body.indexOf(delim);
  if (at < 0) throw die("upload failed");
  for (;;) {
    const start = at + delim.length;
    if (body.subarray(start, start + 2).toString() === "--") break; // close delimiter
    const next = body.indexOf(delim, start);
    if (next < 0) throw die("upload failed");
    // the part runs from after the delimiter's line break to before the next one's
    let end = next;
    if (body[end - 1] === 0x0a) end--;
    if (body[end - 1] === 0x0d) end--;
    parts.push(body.subarray(body[start] === 0x0d ? start + 2 : start + 1, end));
    at = next;
  }
  const fields: Record<string, string> = {};
  let expect = 0;
  for (const [i, part] of parts.entries()) {
    const headerEnd = part.indexOf("\r\n\r\n");
    const headers = part.subarray(0, headerEnd < 0 ? part.length : headerEnd).toString("latin1");
    const data = part.subarray(headerEnd < 0 ? part.length : headerEnd + 4);
    const disp = /Content-Disposition: (.*?); name="(.*?)"(?:; filename="([^"]+)")?/i.exec(headers);
    if (!disp) throw die("upload failed");
    if (disp[1] !== "form-data")
      throw die(`wrong Content-Disposition '${disp[1]}' in multipart, expected 'form-data'`);
    const [name, fileName] = [disp[2], disp[3]];
    if (fileName !== undefined) {
      if (name !== "filename")
        throw die(`wrong field name '${name}' for file upload, expected 'filename'`);
      if (i !== parts.length - 1) throw die("upload failed"); // PVE stops reading at the file
      fields.filename = fileName.trim();
      return { fields, file: data };
    }
    const pos = FIELD_ORDER.indexOf(name, expect);
    if (pos < 0) throw die("upload failed"); // a field out of PVE's order, or an unknown one
    fields[name] = data.toString("utf8").trim();
    expect = pos + 1;
  }
  throw die("upload failed"); // no file part
}
