const dateFormat = new Intl.DateTimeFormat('en', { year: 'numeric', month: 'short', day: 'numeric' });
const timeFormat = new Intl.DateTimeFormat('en', { hour: '2-digit', minute: '2-digit' });

export const date = (iso: string) => dateFormat.format(new Date(iso));
export const time = (iso: string) => timeFormat.format(new Date(iso));
export const money = (amount: number, currency: string) =>
  new Intl.NumberFormat('en', { style: 'currency', currency }).format(amount);
// A calendar date without a time ("2023-03-14") parses as UTC midnight: format it in UTC so that it
// shows the same month everywhere.
const monthFormat = new Intl.DateTimeFormat('en', { year: 'numeric', month: 'long', timeZone: 'UTC' });
const numberFormat = new Intl.NumberFormat('en');

export const month = (isoDate: string) => monthFormat.format(new Date(isoDate));
export const count = (n: number) => numberFormat.format(n);
