'use strict';
// A reflection client that is not ours: grpc-js-reflection-client on @grpc/grpc-js (npm), with no
// proto files. Driven by tests/interop/test_reflection_node.py, which checks what it prints.
//
//   node reflect.js ADDRESS VERSION TENANT      VERSION: v1 | v1alpha; TENANT has PROSPECTS on
//
// Prints one JSON object on stdout: what reflection listed and resolved, the outcome of calls made
// through a stub built only from the reflected descriptors, and the error responses for unknown
// names. Exit status 0 when it could gather all of that, 1 otherwise (the message on stderr).
// Module resolution: NODE_PATH must name the node_modules folder the packages are installed in.

const grpc = require('@grpc/grpc-js');
const { GrpcReflection } = require('grpc-js-reflection-client');
const { FileDescriptorProto } = require('protobufjs/ext/descriptor');

const [address, version, tenant] = process.argv.slice(2);
if (!address || !['v1', 'v1alpha'].includes(version) || !tenant) {
  console.error('usage: node reflect.js ADDRESS v1|v1alpha TENANT');
  process.exit(64);
}
const SERVICE = 'prospects.v1.ProspectService';
const creds = grpc.credentials.createInsecure();
const deadline = () => ({ deadline: Date.now() + 10000 });

// One request on a raw ServerReflectionInfo stream of the package's own generated client: the
// package turns an error_response into an exception carrying only the message, and we want the code.
function rawReflection(refl, request) {
  return new Promise((resolve, reject) => {
    const call = refl.client.ServerReflectionInfo(new grpc.Metadata(), deadline());
    const answers = [];
    call.on('data', (d) => answers.push(d));
    call.on('error', reject);
    call.on('end', () => resolve(answers));
    call.write(refl.reflectionRequestConstructor(request));
    call.end();
  });
}

function errorOf(answers) {
  if (answers.length !== 1) return { answers: answers.length };
  const r = answers[0];
  return r.errorResponse ? { code: r.errorResponse.errorCode, message: r.errorResponse.errorMessage }
    : { unexpected: Object.keys(r) };
}

async function rejection(promise) {
  try {
    await promise;
    return null;
  } catch (e) {
    return String(e && e.message ? e.message : e);
  }
}

function unary(stub, method, request) {
  return new Promise((resolve) => {
    stub[method](request, deadline(), (err, resp) => resolve(err ? { err } : { resp }));
  });
}

async function main() {
  const refl = new GrpcReflection(address, creds, {}, version);
  const out = { version };

  out.services = await refl.listServices();
  out.methods = (await refl.listMethods(SERVICE)).map((m) => m.name);

  // The file containing the service, with every import resolved through reflection.
  const desc = await refl.getDescriptorBySymbol(SERVICE);
  const root = desc.getProtobufJsRoot();
  root.resolveAll(); // throws when a referenced type is missing
  const svc = root.lookupService(SERVICE);
  out.signatures = {};
  for (const m of Object.values(svc.methods)) {
    out.signatures[m.name] = [m.resolvedRequestType.fullName.replace(/^\./, ''),
      m.resolvedResponseType.fullName.replace(/^\./, ''), !!m.requestStream, !!m.responseStream];
  }
  const prospect = root.lookupType('prospects.v1.Prospect');
  out.prospectFields = prospect.fieldsArray.map((f) => [f.name, f.id, f.type, f.repeated]);
  out.partyKindValues = root.lookupEnum('prospects.v1.PartyKind').values;

  // The same file asked for by name resolves too.
  const byName = await refl.getDescriptorByFileName('prospects/v1/service.proto');
  byName.getProtobufJsRoot().resolveAll();
  out.byNameResolves = !!byName.getProtobufJsRoot().lookupService(SERVICE);

  // The files of the answers themselves: [name, [its imports]] in the order the server sent them.
  const filesOf = (answers) => answers[0].fileDescriptorResponse.fileDescriptorProto.map((b) => {
    const f = FileDescriptorProto.decode(b);
    return [f.name, f.dependency || []];
  });
  out.symbolFiles = filesOf(await rawReflection(refl, { fileContainingSymbol: SERVICE }));
  out.nameFiles = filesOf(await rawReflection(refl, { fileByFilename: 'prospects/v1/service.proto' }));

  // Calls through a stub made from the reflected descriptors only.
  const pkg = desc.getPackageObject({ keepCase: true, enums: String, longs: String, defaults: false });
  const stub = new pkg.prospects.v1.ProspectService(address, creds);
  const created = await unary(stub, 'CreateProspect', {
    parent: `tenants/${tenant}`,
    prospect: { kind: 'COMPANY', company_name: `Reflected ${version} GmbH` },
  });
  if (created.err) throw new Error(`CreateProspect: ${created.err.code} ${created.err.details}`);
  out.created = created.resp;
  const got = await unary(stub, 'GetProspect', { name: created.resp.name });
  if (got.err) throw new Error(`GetProspect: ${got.err.code} ${got.err.details}`);
  out.got = got.resp;

  // An error, with its google.rpc.Status details decoded by types that came from reflection.
  const missing = await unary(stub, 'GetProspect',
    { name: `tenants/${tenant}/prospects/0190a3b4-5c6d-7e8f-9a0b-1c2d3e4f5a6b` });
  out.missing = { code: missing.err ? missing.err.code : 0 };
  if (missing.err) {
    const raw = missing.err.metadata.get('grpc-status-details-bin')[0];
    const rpcRoot = (await refl.getDescriptorBySymbol('google.rpc.ErrorInfo')).getProtobufJsRoot();
    const statusRoot = (await refl.getDescriptorBySymbol('google.rpc.Status')).getProtobufJsRoot();
    const status = statusRoot.lookupType('google.rpc.Status').decode(raw);
    out.missing.statusCode = status.code;
    out.missing.details = status.details.map((any) => {
      const type = (any.typeUrl || any.type_url).split('/').pop();
      const decoded = rpcRoot.lookupType(type).decode(any.value);
      return { type, reason: decoded.reason, domain: decoded.domain };
    });
  }
  stub.close();

  // Unknown names: the package rejects, the raw answer is an error_response with its code.
  out.unknownSymbolRejected = await rejection(refl.getDescriptorBySymbol('prospects.v1.NoSuchThing'));
  out.unknownFileRejected = await rejection(refl.getDescriptorByFileName('prospects/v1/nope.proto'));
  out.unknownSymbol = errorOf(await rawReflection(refl, { fileContainingSymbol: 'prospects.v1.NoSuchThing' }));
  out.unknownFile = errorOf(await rawReflection(refl, { fileByFilename: 'prospects/v1/nope.proto' }));
  out.rawList = (await rawReflection(refl, { listServices: '' }))
    .map((r) => r.listServicesResponse.service.map((s) => s.name));

  refl.client.close();
  return out;
}

main().then(
  (out) => { process.stdout.write(JSON.stringify(out, null, 1) + '\n'); },
  (e) => { console.error(e && e.stack ? e.stack : String(e)); process.exit(1); },
);
