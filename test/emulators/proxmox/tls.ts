/**
 * A self-signed certificate per emulator run, as a fresh PVE node has one (pve-manager
 * `PVE/CertHelpers.pm` makes `pve-ssl.pem`, signed by the cluster CA): the Proxmox target's
 * CA-file and fingerprint-pinning options are tested against it. Made with Debian's openssl.
 */
import { execFile } from "node:child_process";
import { X509Certificate } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { promisify } from "node:util";

const execFileAsync = promisify(execFile);

export interface SelfSignedCert {
  readonly cert: string;
  readonly key: string;
  /** SHA-256 fingerprint as PVE shows it: upper-case hex pairs joined by colons. */
  readonly fingerprint256: string;
}

/** A P-256 certificate for 127.0.0.1 and localhost, valid for two days. */
export async function makeSelfSignedCert(dir: string): Promise<SelfSignedCert> {
  const keyFile = path.join(dir, "pve-ssl.key");
  const certFile = path.join(dir, "pve-ssl.pem");
  await execFileAsync("openssl", [
    ...["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"],
    ...["-keyout", keyFile, "-out", certFile, "-days", "2"],
    ...["-subj", "/OU=PVE Cluster Node/O=Proxmox Virtual Environment/CN=pve-emulator"],
    ...["-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"],
  ]);
  const cert = fs.readFileSync(certFile, "utf8");
  return {
    cert,
    key: fs.readFileSync(keyFile, "utf8"),
    fingerprint256: new X509Certificate(cert).fingerprint256,
  };
}
