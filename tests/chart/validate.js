// Validates Kubernetes objects against the schemas of the kubernetes-models packages (offline):
// reads a JSON array of objects on stdin, prints one line per object, exits 1 when any is invalid
// or of a kind no package knows. Arguments: the package folders, looked up in order (the Kubernetes
// API's, then CRDs' such as @kubernetes-models/prometheus-operator).
"use strict";
const path = require("path");
const fs = require("fs");
const modelsDirs = process.argv.slice(2);   // .../node_modules/kubernetes-models, ...
const objects = JSON.parse(fs.readFileSync(0, "utf8"));
let bad = 0;
for (const obj of objects) {
  const [group, version] = obj.apiVersion.includes("/") ? obj.apiVersion.split("/") : ["", obj.apiVersion];
  const file = modelsDirs.map((d) => path.join(d, group, version, obj.kind + ".js"))
    .find((f) => fs.existsSync(f));
  const what = `${obj.kind} ${obj.metadata && obj.metadata.name}`;
  if (!file) {
    console.log(`UNKNOWN ${what} (${obj.apiVersion})`);
    bad++;
    continue;
  }
  const Model = require(file)[obj.kind];
  try {
    new Model(obj).validate();
    console.log(`ok ${what}`);
  } catch (e) {
    console.log(`INVALID ${what}: ${e.message}`);
    bad++;
  }
}
process.exit(bad ? 1 : 0);
