// A phone number as formatPhoneNumber shows it ("+61 2 9374 4000").
const NUMBER = /(\+\d[\d ]*\d)/;

/** Text whose phone numbers never break across lines ("+61 2 / 9374 4000" reads as two numbers). */
export function KeepNumbers({ text }: { text: string }) {
  return (
    <>
      {text.split(NUMBER).map((part, index) =>
        index % 2 ? (
          <span key={index} className="number">
            {part}
          </span>
        ) : (
          part
        ),
      )}
    </>
  );
}
