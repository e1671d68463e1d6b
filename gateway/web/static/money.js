// Amounts as the API states them: a decimal string in the asset's units, shown with exactly the instrument's
// decimals and its currency (or symbol). String arithmetic only: no float ever touches an amount.
export function formatAmount(value, instrument) {
  if (value === null || value === undefined) return "—";
  if (!instrument) return String(value);
  const negative = String(value).startsWith("-");
  const [whole, fraction = ""] = String(value).replace("-", "").split(".");
  const grouped = whole.replace(/\B(?=(\d{3})+(?!\d))/g, ",");
  const decimals = instrument.decimals;
  const padded = decimals > 0 ? "." + (fraction + "0".repeat(decimals)).slice(0, decimals) : "";
  const unit = instrument.currency || instrument.symbol;
  return `${negative ? "-" : ""}${grouped}${padded} ${unit}`;
}

// Smallest units (an integer string, maybe negative) as a decimal string with `decimals` places: "-1250000", 6 ->
// "-1.250000".
export function fromUnits(units, decimals) {
  const negative = String(units).startsWith("-");
  const digits = String(units).replace("-", "").padStart(decimals + 1, "0");
  const whole = digits.slice(0, digits.length - decimals);
  const fraction = decimals > 0 ? "." + digits.slice(digits.length - decimals) : "";
  return `${negative ? "-" : ""}${whole}${fraction}`;
}

// A decimal string as smallest units (a BigInt) with `decimals` places: "1.5", 6 -> 1500000n. Anything else, or more
// places than the asset has, throws.
export function toUnits(value, decimals) {
  const match = /^(\d+)(?:\.(\d+))?$/.exec(String(value).trim());
  if (!match || (match[2] ?? "").length > decimals) throw new Error(`Not an amount with at most ${decimals} decimals: ${value}`);
  return BigInt(match[1] + (match[2] ?? "").padEnd(decimals, "0"));
}
