// openapi.yaml -> schema.ts, as an app team generates its types: files (format: binary) become
// Blob, so that an upload or a download is typed as the bytes it is, and a property with a
// default stays optional in what the app sends (OpenAPI: a default does not make it required).
// Usage: node generate.mjs <openapi.yaml> <schema.ts>
import { writeFileSync } from "node:fs";
import { pathToFileURL } from "node:url";
import openapiTS, { astToString } from "openapi-typescript";
import ts from "typescript";

const [input, output] = process.argv.slice(2);
const BLOB = ts.factory.createTypeReferenceNode(ts.factory.createIdentifier("Blob"));

const ast = await openapiTS(pathToFileURL(input), {
  defaultNonNullable: false,
  transform(schema) {
    if (schema.format === "binary") return BLOB;
    return undefined;
  },
});
writeFileSync(output, astToString(ast));
