/**
 * Reads a labelled CSV (`text,label` header, RFC 4180 quoting: fields may hold commas,
 * newlines and doubled quotes). Small and strict rather than a dependency: the training
 * data is the only CSV Colo reads, and a bad row must name its line.
 */
import { readFile } from 'node:fs/promises';
import { ColoError } from '../core/errors';

export interface LabelledExample {
  text: string;
  label: number;
}

/** Splits CSV text into rows of fields. Each row carries the 1-based line it starts on. */
export function parseCsv(src: string): { fields: string[]; line: number }[] {
  const rows: { fields: string[]; line: number }[] = [];
  let fields: string[] = [];
  let field = '';
  let inQuotes = false;
  let line = 1;
  let rowLine = 1;
  let sawAny = false;
  for (let i = 0; i < src.length; i++) {
    const c = src[i];
    if (inQuotes) {
      if (c === '"') {
        if (src[i + 1] === '"') {
          field += '"';
          i++;
        } else inQuotes = false;
      } else {
        if (c === '\n') line++;
        field += c;
      }
      continue;
    }
    if (c === '"' && field.length === 0) {
      inQuotes = true;
      sawAny = true;
    } else if (c === ',') {
      fields.push(field);
      field = '';
      sawAny = true;
    } else if (c === '\n' || c === '\r') {
      if (c === '\r' && src[i + 1] === '\n') i++;
      if (sawAny || field.length > 0) {
        fields.push(field);
        rows.push({ fields, line: rowLine });
      }
      fields = [];
      field = '';
      sawAny = false;
      line++;
      rowLine = line;
    } else {
      field += c;
      sawAny = true;
    }
  }
  if (inQuotes)
    throw new ColoError('INVALID_ARGUMENT', `unterminated quoted field starting on line ${rowLine}`);
  if (sawAny || field.length > 0) {
    fields.push(field);
    rows.push({ fields, line: rowLine });
  }
  return rows;
}

/** Parses `text,label` rows; labels must be integers in [0, numClasses). */
export function parseLabelledCsv(src: string, numClasses: number, name = 'csv'): LabelledExample[] {
  const rows = parseCsv(src);
  const header = rows.shift();
  const textCol = header?.fields.indexOf('text') ?? -1;
  const labelCol = header?.fields.indexOf('label') ?? -1;
  if (textCol < 0 || labelCol < 0) {
    throw new ColoError('INVALID_ARGUMENT', `${name}: header must name columns "text" and "label"`);
  }
  return rows.map(({ fields, line }) => {
    const text = fields[textCol];
    const label = Number(fields[labelCol]);
    if (text === undefined || !Number.isInteger(label) || label < 0 || label >= numClasses) {
      throw new ColoError(
        'INVALID_ARGUMENT',
        `${name}:${line}: expected text and a label in 0..${numClasses - 1}`,
      );
    }
    return { text, label };
  });
}

export async function readLabelledCsv(path: string, numClasses: number): Promise<LabelledExample[]> {
  let src: string;
  try {
    src = await readFile(path, 'utf8');
  } catch (err) {
    throw new ColoError(
      'NOT_FOUND',
      `cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? 'error'}`,
      {
        cause: err,
      },
    );
  }
  return parseLabelledCsv(src, numClasses, path);
}
