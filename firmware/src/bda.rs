//! The BIOS data area (BDA, segment 40h, linear 400h-4FFh), the print-screen
//! status byte at 500h, and the extended BIOS data area (EBDA) header.
//!
//! Layout from the IBM Personal Computer AT Technical Reference (BIOS listing,
//! "DATA AREAS" at the top of the listing: `RS232_BASE`, `PRINTER_BASE`,
//! `EQUIP_FLAG`, `MEMORY_SIZE`, `KB_FLAG`, `BUFFER_HEAD`, `TIMER_LOW`...), with
//! the PS/2 additions (EBDA segment at 40:0Eh, keyboard flag bytes at
//! 40:96h/97h, the INT 15h/86h wait fields) from the IBM PS/2 and PC BIOS
//! Interface Technical Reference ("BIOS Data Area", "Extended BIOS Data Area").
//! Ralf Brown's Interrupt List (memory map, "BIOS DATA AREA") was the
//! secondary source for fields later BIOSes agree on.
//!
//! Every address below is linear (`0x400 + offset`); the keyboard buffer's
//! pointers stored *in* the BDA are offsets from segment 40h, as DOS and
//! keyboard utilities expect. The video fields (40:49h-40:66h, 40:84h-40:8Ah,
//! 40:A8h) belong to the INT 10h code and are not named here.
//!
//! The keyboard ring buffer (40:1Eh-40:3Dh by default) has its own module,
//! `keyboard_buffer`; its routines [`kbd_push`], [`kbd_peek`], [`kbd_pop`]
//! and [`kbd_reset`] are re-exported here and check the pointers the guest
//! may have changed before they use them.

mod keyboard_buffer;

pub use keyboard_buffer::{kbd_peek, kbd_pop, kbd_push, kbd_reset};

use pc_layout::{memory, ports};

/// Linear address of the BIOS data area (the board's [`memory::BDA`]).
pub const BDA_BASE: u32 = memory::BDA as u32;
/// Segment of the BIOS data area.
pub const BDA_SEGMENT: u16 = (BDA_BASE >> 4) as u16;
/// Size of the BIOS data area in bytes (40:00h-40:FFh).
pub const BDA_SIZE: u32 = 0x100;

// ---- Serial and parallel ports ----
/// COM1-COM4 I/O base addresses, 4 words (0 = port absent).
pub const COM_PORTS: u32 = 0x400;
/// Number of COM port address slots.
pub const COM_PORT_SLOTS: usize = 4;
/// The standard COM1-COM4 base addresses, in slot order (the board's
/// [`ports::COM`]).
pub const COM_PORT_BASES: [u16; COM_PORT_SLOTS] = ports::COM;
/// LPT1-LPT3 I/O base addresses, 3 words (0 = port absent).
pub const LPT_PORTS: u32 = 0x408;
/// Number of LPT address slots before the EBDA pointer.
pub const LPT_PORT_SLOTS: usize = 3;
/// Segment of the extended BIOS data area, word (the AT's LPT4 slot).
pub const EBDA_SEGMENT_PTR: u32 = 0x40E;

// ---- Equipment and memory ----
/// Equipment word (returned by INT 11h).
pub const EQUIPMENT: u32 = 0x410;
/// Equipment bit 0: diskette drive(s) present.
pub const EQUIP_FLOPPY: u16 = 1 << 0;
/// Equipment bit 1: math coprocessor (x87) present.
pub const EQUIP_X87: u16 = 1 << 1;
/// Equipment bit 2: pointing device (PS/2 mouse) present.
pub const EQUIP_MOUSE: u16 = 1 << 2;
/// Equipment bits 5-4: initial video mode.
pub const EQUIP_VIDEO_MASK: u16 = 0b11 << 4;
/// Initial video mode 10b: 80x25 colour.
pub const EQUIP_VIDEO_80X25_COLOR: u16 = 0b10 << 4;
/// Initial video mode 11b: 80x25 monochrome.
pub const EQUIP_VIDEO_80X25_MONO: u16 = 0b11 << 4;
/// Equipment bits 7-6: number of diskette drives minus one.
pub const EQUIP_FLOPPY_COUNT_SHIFT: u16 = 6;
/// Mask of the diskette count field (after shifting).
pub const EQUIP_FLOPPY_COUNT_MASK: u16 = 0b11;
/// Equipment bits 11-9: number of serial ports.
pub const EQUIP_SERIAL_COUNT_SHIFT: u16 = 9;
/// Mask of the serial count field (after shifting).
pub const EQUIP_SERIAL_COUNT_MASK: u16 = 0b111;
/// Equipment bit 12: game port present.
pub const EQUIP_GAME_PORT: u16 = 1 << 12;
/// Equipment bits 15-14: number of parallel ports.
pub const EQUIP_PRINTER_COUNT_SHIFT: u16 = 14;
/// Mask of the parallel count field (after shifting).
pub const EQUIP_PRINTER_COUNT_MASK: u16 = 0b11;
/// POST manufacturing test / interrupt flag, byte.
pub const MFG_TEST: u32 = 0x412;
/// Conventional memory size in KiB, word (returned by INT 12h).
pub const MEMORY_SIZE_KIB: u32 = 0x413;
/// Reserved word after the memory size (AT: manufacturing error codes).
pub const MFG_ERROR: u32 = 0x415;

// ---- Keyboard ----
/// Keyboard flag byte 0 (`KB_FLAG`): lock states and held shift keys.
pub const KB_FLAG: u32 = 0x417;
/// `KB_FLAG` bit 0: right Shift held.
pub const KB_FLAG_RIGHT_SHIFT: u8 = 1 << 0;
/// `KB_FLAG` bit 1: left Shift held.
pub const KB_FLAG_LEFT_SHIFT: u8 = 1 << 1;
/// `KB_FLAG` bit 2: either Ctrl held.
pub const KB_FLAG_CTRL: u8 = 1 << 2;
/// `KB_FLAG` bit 3: either Alt held.
pub const KB_FLAG_ALT: u8 = 1 << 3;
/// `KB_FLAG` bit 4: Scroll Lock on.
pub const KB_FLAG_SCROLL_LOCK: u8 = 1 << 4;
/// `KB_FLAG` bit 5: Num Lock on.
pub const KB_FLAG_NUM_LOCK: u8 = 1 << 5;
/// `KB_FLAG` bit 6: Caps Lock on.
pub const KB_FLAG_CAPS_LOCK: u8 = 1 << 6;
/// `KB_FLAG` bit 7: Insert on.
pub const KB_FLAG_INSERT: u8 = 1 << 7;
/// Keyboard flag byte 1 (`KB_FLAG_1`): keys held down.
pub const KB_FLAG_1: u32 = 0x418;
/// `KB_FLAG_1` bit 0: left Ctrl held.
pub const KB_FLAG_1_LEFT_CTRL: u8 = 1 << 0;
/// `KB_FLAG_1` bit 1: left Alt held.
pub const KB_FLAG_1_LEFT_ALT: u8 = 1 << 1;
/// `KB_FLAG_1` bit 2: SysReq held.
pub const KB_FLAG_1_SYS_REQ: u8 = 1 << 2;
/// `KB_FLAG_1` bit 3: Pause (Ctrl-Num Lock) in effect.
pub const KB_FLAG_1_PAUSE: u8 = 1 << 3;
/// `KB_FLAG_1` bit 4: Scroll Lock held.
pub const KB_FLAG_1_SCROLL_HELD: u8 = 1 << 4;
/// `KB_FLAG_1` bit 5: Num Lock held.
pub const KB_FLAG_1_NUM_HELD: u8 = 1 << 5;
/// `KB_FLAG_1` bit 6: Caps Lock held.
pub const KB_FLAG_1_CAPS_HELD: u8 = 1 << 6;
/// `KB_FLAG_1` bit 7: Insert held.
pub const KB_FLAG_1_INSERT_HELD: u8 = 1 << 7;
/// Alt-keypad entry accumulator, byte (`ALT_INPUT`).
pub const ALT_INPUT: u32 = 0x419;
/// Keyboard buffer head, word: offset from 40h of the next key to read.
pub const BUFFER_HEAD: u32 = 0x41A;
/// Keyboard buffer tail, word: offset from 40h of the next free slot.
pub const BUFFER_TAIL: u32 = 0x41C;
/// The default keyboard buffer, 16 words (40:1Eh-40:3Dh).
pub const KB_BUFFER: u32 = 0x41E;
/// Default buffer start, as an offset from 40h.
pub const KB_BUFFER_DEFAULT_START: u16 = 0x1E;
/// Default buffer end (one past the last word), as an offset from 40h.
pub const KB_BUFFER_DEFAULT_END: u16 = 0x3E;
/// Keyboard buffer start pointer, word (offset from 40h).
pub const BUFFER_START: u32 = 0x480;
/// Keyboard buffer end pointer, word (offset from 40h, one past the end).
pub const BUFFER_END: u32 = 0x482;
/// Keyboard flag byte 3 (`KB_FLAG_3`): keyboard type and prefix state.
pub const KB_FLAG_3: u32 = 0x496;
/// `KB_FLAG_3` bit 0: last scan code was the E1h prefix.
pub const KB_FLAG_3_LAST_E1: u8 = 1 << 0;
/// `KB_FLAG_3` bit 1: last scan code was the E0h prefix.
pub const KB_FLAG_3_LAST_E0: u8 = 1 << 1;
/// `KB_FLAG_3` bit 2: right Ctrl held.
pub const KB_FLAG_3_RIGHT_CTRL: u8 = 1 << 2;
/// `KB_FLAG_3` bit 3: right Alt held.
pub const KB_FLAG_3_RIGHT_ALT: u8 = 1 << 3;
/// `KB_FLAG_3` bit 4: 101/102-key enhanced keyboard installed.
pub const KB_FLAG_3_ENHANCED: u8 = 1 << 4;
/// `KB_FLAG_3` bit 5: force Num Lock on after reading the keyboard ID.
pub const KB_FLAG_3_SET_NUM_LOCK: u8 = 1 << 5;
/// `KB_FLAG_3` bit 6: last character was the first keyboard ID byte.
pub const KB_FLAG_3_LAST_ID: u8 = 1 << 6;
/// `KB_FLAG_3` bit 7: keyboard ID read in progress.
pub const KB_FLAG_3_READ_ID: u8 = 1 << 7;
/// Keyboard flag byte 2 (`KB_FLAG_2`): LEDs and keyboard handshake.
pub const KB_FLAG_2: u32 = 0x497;
/// `KB_FLAG_2` bits 2-0: the LED state (Scroll, Num, Caps Lock).
pub const KB_FLAG_2_LEDS: u8 = 0b111;
/// `KB_FLAG_2` bit 4: acknowledge received.
pub const KB_FLAG_2_ACK: u8 = 1 << 4;
/// `KB_FLAG_2` bit 5: resend received.
pub const KB_FLAG_2_RESEND: u8 = 1 << 5;
/// `KB_FLAG_2` bit 6: LED update in progress.
pub const KB_FLAG_2_LED_UPDATE: u8 = 1 << 6;
/// `KB_FLAG_2` bit 7: keyboard transmit error.
pub const KB_FLAG_2_ERROR: u8 = 1 << 7;

// ---- Diskette ----
/// Diskette recalibrate status (`SEEK_STATUS`), byte.
pub const SEEK_STATUS: u32 = 0x43E;
/// `SEEK_STATUS` bits 3-0: drive 0-3 needs recalibrating (0 = needs it).
pub const SEEK_STATUS_RECAL_MASK: u8 = 0x0F;
/// `SEEK_STATUS` bit 7: diskette interrupt occurred.
pub const SEEK_STATUS_INTERRUPT: u8 = 1 << 7;
/// Diskette motor status (`MOTOR_STATUS`), byte.
pub const MOTOR_STATUS: u32 = 0x43F;
/// `MOTOR_STATUS` bits 3-0: motor of drive 0-3 on.
pub const MOTOR_STATUS_ON_MASK: u8 = 0x0F;
/// `MOTOR_STATUS` bit 7: current operation is a write.
pub const MOTOR_STATUS_WRITE: u8 = 1 << 7;
/// Diskette motor-off countdown in timer ticks (`MOTOR_COUNT`), byte.
pub const MOTOR_COUNT: u32 = 0x440;
/// Status of the last diskette operation (`DISKETTE_STATUS`), byte.
pub const DISKETTE_STATUS: u32 = 0x441;
/// Diskette controller result bytes (`NEC_STATUS`), 7 bytes.
pub const NEC_STATUS: u32 = 0x442;
/// Number of `NEC_STATUS` bytes.
pub const NEC_STATUS_LEN: usize = 7;
/// Last diskette data rate selected (`LASTRATE`), byte.
pub const LASTRATE: u32 = 0x48B;
/// Diskette controller information (`DSK_STATE` for the combo card), byte.
pub const DISKETTE_CONTROLLER_INFO: u32 = 0x48F;
/// Media state of drives 0 and 1 (`DSK_STATE`), 2 bytes.
pub const DSK_STATE: u32 = 0x490;
/// Operation start state of drives 0 and 1, 2 bytes.
pub const DSK_START_STATE: u32 = 0x492;
/// Current cylinder of drives 0 and 1 (`DSK_TRK`), 2 bytes.
pub const DSK_TRK: u32 = 0x494;

// ---- Reset and timer ----
/// Restart address after a shutdown-code reset (`IO_ROM_INIT`), dword
/// offset:segment.
pub const IO_ROM_INIT: u32 = 0x467;
/// Last spurious interrupt seen (`INTR_FLAG`), byte.
pub const INTR_FLAG: u32 = 0x46B;
/// Timer ticks since midnight (`TIMER_LOW`/`TIMER_HIGH`), dword.
pub const TIMER_COUNT: u32 = 0x46C;
/// Timer rolled past midnight since last read (`TIMER_OFL`), byte.
pub const TIMER_OFL: u32 = 0x470;
/// Ticks in a day: the AT's `TIMER_HIGH = 18h, TIMER_LOW = B0h` compare,
/// 24 h at 1 193 180 / 65 536 Hz.
pub const TICKS_PER_DAY: u32 = 0x0018_00B0;
/// Ctrl-Break flag (`BIOS_BREAK`), byte.
pub const BIOS_BREAK: u32 = 0x471;
/// `BIOS_BREAK` bit 7: Ctrl-Break was pressed.
pub const BIOS_BREAK_PRESSED: u8 = 1 << 7;
/// Reset flag (`RESET_FLAG`), word.
pub const RESET_FLAG: u32 = 0x472;
/// `RESET_FLAG` value for a warm boot (Ctrl-Alt-Del): skip the memory test.
pub const RESET_FLAG_WARM: u16 = 0x1234;

// ---- Fixed disk ----
/// Status of the last fixed-disk operation (`DISK_STATUS1`), byte.
pub const DISK_STATUS1: u32 = 0x474;
/// Number of fixed disks (`HF_NUM`), byte.
pub const HF_NUM: u32 = 0x475;
/// Fixed-disk control byte (`CONTROL_BYTE`), byte.
pub const HF_CONTROL: u32 = 0x476;
/// Fixed-disk port offset (`PORT_OFF`, XT only), byte.
pub const HF_PORT_OFFSET: u32 = 0x477;
/// Fixed-disk controller status register copy (`HF_STATUS`), byte.
pub const HF_STATUS: u32 = 0x48C;
/// Fixed-disk controller error register copy (`HF_ERROR`), byte.
pub const HF_ERROR: u32 = 0x48D;
/// Fixed-disk interrupt flag (`HF_INT_FLAG`), byte.
pub const HF_INT_FLAG: u32 = 0x48E;
/// `HF_INT_FLAG` value once the disk interrupt has arrived.
pub const HF_INT_FLAG_DONE: u8 = 0xFF;

// ---- Time-outs ----
/// LPT1-LPT4 time-out counts (`PRINT_TIM_OUT`), 4 bytes.
pub const PRINT_TIM_OUT: u32 = 0x478;
/// COM1-COM4 time-out counts (`RS232_TIM_OUT`), 4 bytes.
pub const RS232_TIM_OUT: u32 = 0x47C;
/// Default printer time-out count the AT POST stores.
pub const PRINT_TIM_OUT_DEFAULT: u8 = 0x14;
/// Default serial time-out count the AT POST stores.
pub const RS232_TIM_OUT_DEFAULT: u8 = 0x01;

// ---- INT 15h/83h and 86h wait ----
/// Caller's wait-complete flag pointer (`USER_FLAG`), dword offset:segment.
pub const USER_FLAG: u32 = 0x498;
/// Microseconds left to wait (`RTC_LOW`/`RTC_HIGH`), dword.
pub const RTC_WAIT_COUNT: u32 = 0x49C;
/// Wait status (`RTC_WAIT_FLAG`), byte.
pub const RTC_WAIT_FLAG: u32 = 0x4A0;
/// `RTC_WAIT_FLAG` bit 0: a wait is in progress.
pub const RTC_WAIT_ACTIVE: u8 = 1 << 0;
/// `RTC_WAIT_FLAG` bit 7: the wait time has elapsed.
pub const RTC_WAIT_ELAPSED: u8 = 1 << 7;

// ---- Past the BDA ----
/// Intra-application communication area, 16 bytes (40:F0h-40:FFh).
pub const INTRA_APP_AREA: u32 = 0x4F0;
/// Print-screen status (`STATUS_BYTE` at 50:00h), byte.
pub const PRINT_SCREEN_STATUS: u32 = 0x500;

// ---- Extended BIOS data area ----
/// Linear address of the EBDA: the top KiB of conventional memory (the
/// board's [`memory::EBDA`]).
pub const EBDA_BASE: u32 = memory::EBDA as u32;
/// Segment of the EBDA.
pub const EBDA_SEGMENT: u16 = (EBDA_BASE >> 4) as u16;
/// EBDA size in KiB.
pub const EBDA_SIZE_KIB: u8 = 1;
/// EBDA size in bytes.
pub const EBDA_SIZE: u32 = 1024;
/// EBDA offset 0: its size in KiB, byte (the BIOS writes the word 0001h).
pub const EBDA_LENGTH: u32 = 0x00;

const _: () = assert!(BDA_BASE as u64 == memory::BDA && BDA_BASE == (BDA_SEGMENT as u32) << 4);
const _: () = assert!(EBDA_BASE == (EBDA_SEGMENT as u32) << 4);
const _: () = assert!(memory::EBDA + EBDA_SIZE as u64 == memory::VGA_WINDOW);
const _: () = assert!(KB_BUFFER == BDA_BASE + KB_BUFFER_DEFAULT_START as u32);
const _: () = assert!(KB_BUFFER_DEFAULT_END - KB_BUFFER_DEFAULT_START == 32);
