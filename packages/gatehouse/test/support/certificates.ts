/**
 * A throw-away PKI for TLS tests, made with the openssl command line: a CA, a server certificate
 * for localhost / 127.0.0.1 signed by it, a client certificate signed by it (tls_client_auth), and a
 * self-signed client certificate (self_signed_tls_client_auth). Files live in a temporary folder.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface TestPki {
  dir: string;
  ca: { certFile: string; cert: string };
  server: { certFile: string; keyFile: string; cert: string; key: string };
  /** Signed by the CA; subject "CN=gatehouse-test". */
  client: { certFile: string; keyFile: string; subject: string };
  selfSigned: { certFile: string; keyFile: string };
}

function openssl(dir: string, args: string[]): void {
  execFileSync('openssl', args, { cwd: dir, stdio: 'ignore' });
}

export function createTestPki(): TestPki {
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-pki-'));
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'];
  /** A self-signed certificate and its key: `name`.pem, `name`.key. */
  const selfSigned = (name: string, subject: string) =>
    openssl(dir, [
      'req',
      '-x509',
      ...ec,
      '-days',
      '2',
      '-subj',
      subject,
      '-keyout',
      `${name}.key`,
      '-out',
      `${name}.pem`,
    ]);
  selfSigned('ca', '/CN=Gatehouse Test CA');
  const issue = (name: string, subject: string, extensions: string) => {
    writeFileSync(join(dir, `${name}.ext`), extensions);
    openssl(dir, ['req', ...ec, '-subj', subject, '-keyout', `${name}.key`, '-out', `${name}.csr`]);
    openssl(dir, [
      'x509',
      '-req',
      '-in',
      `${name}.csr`,
      '-CA',
      'ca.pem',
      '-CAkey',
      'ca.key',
      '-CAcreateserial',
      '-days',
      '2',
      '-extfile',
      `${name}.ext`,
      '-out',
      `${name}.pem`,
    ]);
  };
  issue('server', '/CN=localhost', 'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n');
  issue('client', '/CN=gatehouse-test', 'extendedKeyUsage=clientAuth\n');
  selfSigned('self', '/CN=gatehouse-self-signed');
  const file = (name: string) => join(dir, name);
  return {
    dir,
    ca: { certFile: file('ca.pem'), cert: readFileSync(file('ca.pem'), 'utf8') },
    server: {
      certFile: file('server.pem'),
      keyFile: file('server.key'),
      cert: readFileSync(file('server.pem'), 'utf8'),
      key: readFileSync(file('server.key'), 'utf8'),
    },
    client: { certFile: file('client.pem'), keyFile: file('client.key'), subject: 'CN=gatehouse-test' },
    selfSigned: { certFile: file('self.pem'), keyFile: file('self.key') },
  };
}
