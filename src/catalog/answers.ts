/**
 * The answers to a recipe's questions: `--set KEY=VALUE`, answers typed on a terminal, or the defaults. Pure:
 * the CLI checks them before asking the server, and the server checks them again before it creates anything.
 */
import { envValueProblem } from "../app/env-vars.js";
import { usageError } from "../util/errors.js";
import type { Question } from "./recipe.js";

/** `--set KEY=VALUE` list into a map; a malformed or repeated one is a usage error. */
export function parseSets(sets: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const s of sets) {
    const eq = s.indexOf("=");
    if (eq <= 0) throw usageError(`--set wants KEY=VALUE, got ${JSON.stringify(s)}`);
    const key = s.slice(0, eq);
    if (Object.hasOwn(out, key)) throw usageError(`--set ${key} is given twice`);
    out[key] = s.slice(eq + 1);
  }
  return out;
}

/** Why `value` is not an acceptable answer to `q`, or undefined. */
export function answerProblem(q: Question, value: string): string | undefined {
  if (value === "") return "an answer is required";
  const control = envValueProblem(value);
  if (control) return control;
  if (q.pattern && !new RegExp(q.pattern).test(value)) return `must match ${q.pattern}`;
  return undefined;
}

/** Unknown keys and bad given answers, refused before a question is asked on a terminal. */
export function checkGiven(
  recipe: string,
  questions: readonly Question[],
  given: Record<string, string>,
): void {
  const problems: string[] = [];
  const known = new Set(questions.map((q) => q.key));
  for (const [key, value] of Object.entries(given)) {
    const q = questions.find((x) => x.key === key);
    if (!q)
      problems.push(
        `${key}: ${recipe} asks no such question (${known.size ? `it asks: ${[...known].join(", ")}` : "it asks none"})`,
      );
    else {
      const problem = answerProblem(q, value);
      if (problem) problems.push(`${key}=${q.secret ? "(hidden)" : JSON.stringify(value)}: ${problem}`);
    }
  }
  if (problems.length)
    throw usageError(
      `catalog install ${recipe}: ${problems.join("; ")}`,
      "nothing was created; fix the answers and run it again",
    );
}

/**
 * Every question's answer: given ones first, then the defaults. Unknown keys, answers that do not match their
 * pattern and questions with neither an answer nor a default are refused, all named in one message.
 */
export function resolveAnswers(
  recipe: string,
  questions: readonly Question[],
  given: Record<string, string>,
): Record<string, string> {
  const problems: string[] = [];
  const known = new Set(questions.map((q) => q.key));
  for (const key of Object.keys(given)) {
    if (!known.has(key))
      problems.push(
        `${key}: ${recipe} asks no such question (${known.size ? `it asks: ${[...known].join(", ")}` : "it asks none"})`,
      );
  }
  const answers: Record<string, string> = {};
  for (const q of questions) {
    const value = Object.hasOwn(given, q.key) ? given[q.key]! : q.default;
    if (value === undefined) {
      problems.push(`${q.key}: ${q.prompt}: no answer and no default (give --set ${q.key}=...)`);
      continue;
    }
    const problem = answerProblem(q, value);
    if (problem) problems.push(`${q.key}=${q.secret ? "(hidden)" : JSON.stringify(value)}: ${problem}`);
    else answers[q.key] = value;
  }
  if (problems.length)
    throw usageError(
      `catalog install ${recipe}: ${problems.join("; ")}`,
      "nothing was created; fix the answers and run it again",
    );
  return answers;
}
