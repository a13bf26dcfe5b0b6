// The payment sheet of the demo web chat: an invoice the bot sent shows as a card with a 💳 Pay
// button; the sheet asks the shipping address (the bot then offers its delivery options), name and
// phone, and a pretend card, as Telegram's app does. The server plays it with the Bot API double's
// own payment sheet (bot/demo/paysheet.py). Uses el, $, api, tr and app from app.js and i18n.js.
"use strict";

const CURRENCY_DIGITS = { JPY: 0, KRW: 0, XTR: 0 };
const CURRENCY_SIGNS = { CNY: "¥", USD: "$", EUR: "€", XTR: "⭐" };

/** An amount in the currency's smallest unit (fen), as people read it: ¥37.00. */
function formatMoney(amount, currency) {
  const digits = CURRENCY_DIGITS[currency] ?? 2;
  const value = (Number(amount) / 10 ** digits).toFixed(digits);
  return CURRENCY_SIGNS[currency] ? `${CURRENCY_SIGNS[currency]}${value}` : `${value} ${currency}`;
}

const paying = { msg: null, invoice: null, options: [], shippingOk: false, busy: false };

/** The card of an invoice message: title, description, total, and Pay (or the receipt once paid). */
function invoiceCard(msg) {
  const invoice = msg.invoice;
  const total = formatMoney(invoice.total_amount, invoice.currency);
  const card = el("div", { class: "card invoice" },
    el("div", { class: "card-title", text: invoice.title }),
    el("div", { class: "card-sub", text: invoice.description }),
    el("div", { class: "invoice-total", text: tr("pay.total", { amount: total }) }));
  if (invoice.paid) {
    card.append(el("div", { class: "invoice-paid", text: tr("pay.receipt") }));
  } else if (!(msg.buttons && msg.buttons.length)) { // no keyboard: Telegram shows its own Pay button
    card.append(el("button", { type: "button", class: "sheet-btn primary pay-btn",
      text: tr("pay.button", { amount: total }), onclick: () => openPaySheet(msg) }));
  }
  return card;
}

/** The service message of a payment the person made. */
function paymentCard(msg) {
  return el("div", { class: "card payment", text: tr("pay.done", { amount: formatMoney(msg.payment.total_amount, msg.payment.currency) }) });
}

const sheetBody = (extra = {}) => ({ as: app.person.id, chat_id: paying.msg.chat_id, message_id: paying.msg.message_id, ...extra });

function sheetAddress() {
  return { state: $("#pay-state").value, city: $("#pay-city").value, street_line1: $("#pay-street").value,
           street_line2: "", post_code: $("#pay-post-code").value };
}

function showPayResult(text, kind) {
  const box = $("#pay-result");
  box.textContent = text;
  box.className = `pay-result ${kind}`;
  box.hidden = !text;
  if (text) box.scrollIntoView({ block: "nearest" });  // below Pay, which may be at the sheet's bottom edge
}

function showPayTotal() {
  const invoice = paying.invoice;
  const option = paying.options.find((o) => o.id === selectedOption());
  const amount = invoice.total_amount + (option ? option.amount : 0);
  $("#pay-total").textContent = tr("pay.total", { amount: formatMoney(amount, invoice.currency) });
  $("#pay-submit").textContent = tr("pay.pay", { amount: formatMoney(amount, invoice.currency) });
  $("#pay-submit").disabled = paying.busy || (invoice.is_flexible && !paying.shippingOk);
}

const selectedOption = () => {
  const checked = document.querySelector('input[name="pay-option"]:checked');
  return checked ? checked.value : null;
};

/** Open the sheet for an invoice message (its 💳 Pay button). */
async function openPaySheet(msg) {
  let sheet;
  try {
    sheet = await api(`/api/pay/sheet?as=${app.person.id}&chat_id=${msg.chat_id}&message_id=${msg.message_id}`);
  } catch (err) {
    toast(err.message, true);
    return;
  }
  Object.assign(paying, { msg, invoice: sheet.invoice, options: [], shippingOk: false, busy: false });
  const { invoice, prefill } = sheet;
  $("#pay-invoice").replaceChildren(el("div", { class: "card-title", text: invoice.title }),
    el("div", { class: "card-sub", text: invoice.description }),
    ...invoice.prices.map((p) => el("div", { class: "pay-line" }, el("span", { text: p.label }),
      el("span", { text: formatMoney(p.amount, invoice.currency) }))));
  $("#pay-address-box").hidden = !invoice.need_shipping_address;
  $("#pay-state").value = prefill.address.state;
  $("#pay-city").value = prefill.address.city;
  $("#pay-street").value = prefill.address.street_line1;
  $("#pay-post-code").value = prefill.address.post_code;
  $("#pay-name-box").hidden = !invoice.need_name;
  $("#pay-name").value = prefill.name;
  $("#pay-phone-box").hidden = !invoice.need_phone_number;
  $("#pay-phone").value = prefill.phone;
  $("#pay-card").value = prefill.card;
  $("#pay-options-box").hidden = true;
  $("#pay-options").replaceChildren();
  $("#pay-cancel").textContent = tr("cancel");
  $("#pay-form").hidden = false;
  showPayResult("", "");
  showPayTotal();
  $("#pay-dialog").showModal();
  if (invoice.is_flexible) askShipping();
}

/** The address is given: a flexible invoice asks the bot for its delivery options. */
async function askShipping() {
  paying.shippingOk = false;
  paying.options = [];
  $("#pay-options-box").hidden = true;
  showPayResult(tr("pay.asking"), "waiting");
  showPayTotal();
  const msg = paying.msg;
  const result = await act("/api/pay/shipping", sheetBody({ address: sheetAddress() }));
  if (msg !== paying.msg) return;
  const shipping = result && result.shipping;
  if (!shipping) { showPayResult("", ""); return; }
  if (!shipping.answered) { showPayResult(tr("pay.timed_out"), "failed"); return; }
  if (!shipping.ok) { showPayResult(tr("pay.no.delivery", { reason: shipping.error_message || "" }), "failed"); return; }
  paying.options = shipping.options;
  paying.shippingOk = true;
  $("#pay-options").replaceChildren(...shipping.options.map((o, i) => el("label", { class: "pay-option" },
    el("input", { type: "radio", name: "pay-option", value: o.id, checked: i === 0, onchange: showPayTotal }),
    el("span", { class: "pay-option-title", text: o.title }),
    el("span", { class: "pay-option-price", text: formatMoney(o.amount, paying.invoice.currency) }))));
  $("#pay-options-box").hidden = false;
  showPayResult("", "");
  showPayTotal();
}

const OUTCOME_WORDS = { declined: "pay.declined", refused: "pay.refused", shipping_refused: "pay.no.delivery", timed_out: "pay.timed_out" };

async function submitPayment(event) {
  event.preventDefault();
  if (paying.busy) return;
  paying.busy = true;
  showPayTotal();
  showPayResult(tr("pay.paying"), "waiting");
  const result = await act("/api/pay", sheetBody({ address: sheetAddress(), option_id: selectedOption(),
    name: $("#pay-name").value, phone: $("#pay-phone").value, card: $("#pay-card").value }));
  paying.busy = false;
  const outcome = result && result.outcome;
  if (!outcome) { showPayResult("", ""); showPayTotal(); return; }
  if (outcome.status === "paid") {
    showPayResult(tr("pay.paid", { amount: formatMoney(outcome.total_amount, outcome.currency) }), "paid");
    $("#pay-form").hidden = true;
    $("#pay-cancel-done").hidden = false;
    return;
  }
  showPayResult(tr(OUTCOME_WORDS[outcome.status] || "pay.failed", { reason: outcome.error_message || "" }), "failed");
  showPayTotal();
}

function bindPaySheet() {
  $("#pay-form").addEventListener("submit", submitPayment);
  $("#pay-cancel").addEventListener("click", () => $("#pay-dialog").close());
  $("#pay-done").addEventListener("click", () => $("#pay-dialog").close());
  $("#pay-dialog").addEventListener("close", () => { $("#pay-cancel-done").hidden = true; });
  for (const id of ["#pay-state", "#pay-city", "#pay-street", "#pay-post-code"]) {
    $(id).addEventListener("change", () => { if (paying.invoice && paying.invoice.is_flexible) askShipping(); });
  }
}

document.addEventListener("DOMContentLoaded", bindPaySheet);
