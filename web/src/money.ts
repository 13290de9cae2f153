/** Whole cents as the reader's language writes that currency: "US$0.42", "$12.00". */
export function formatCents(cents: number, currency = "USD", locale?: string): string {
  return new Intl.NumberFormat(locale, { style: "currency", currency }).format(cents / 100);
}
