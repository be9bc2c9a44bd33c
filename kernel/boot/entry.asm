; entry.asm — the kernel's first instructions: stage 2 jumps here (KERNEL_RUN) once it has
; expanded the kernel. Also the one interrupt handler, for the timer tick and the NIC's line:
; both only wake the idle loop (time.c) from hlt.

bits 64
extern STACK_TOP, __bss_start, __bss_end, kmain
global kernel_entry

PIC_VECTORS equ 0x20              ; time.c remaps the PICs' IRQ 0–15 to vectors 0x20–0x2F
IDT_ENTRIES equ PIC_VECTORS + 16
GATE_INT64  equ 0x8E00            ; present, ring 0, 64-bit interrupt gate
CODE64      equ 8                 ; the MBR's GDT selector

section .text.entry
; kernel_entry — set up the C environment and run kmain.
; IN:  64-bit mode, interrupts off, 0–4 GiB identity-mapped, DF clear.
; OUT: never returns.
kernel_entry:
    mov esp, STACK_TOP
    mov edi, __bss_start          ; C expects .bss zeroed
    mov ecx, __bss_end
    sub ecx, edi
    xor eax, eax
    rep stosb
    mov ebx, irq_tick             ; gates for the 16 PIC vectors; the rest stay absent
    movzx eax, bx
    or eax, CODE64 << 16          ; gate dword 0: selector, offset 15:0
    mov bx, GATE_INT64            ; gate dword 1: offset 31:16, type (offset 63:32 stays 0)
    mov edi, idt + PIC_VECTORS * 16
    mov cl, 16
.gate:
    mov [rdi], eax
    mov [rdi + 4], ebx
    add edi, 16
    loop .gate
    lidt [idtr]
    call kmain
.halt:
    hlt
    jmp .halt

; irq_tick — any PIC interrupt (the timer, the NIC): acknowledge it at the PICs and return
; with interrupts off; its only purpose is to end a hlt. The NIC's PCI line is level-triggered
; and stays up until the poll that follows reads the device's ISR register: returning with IF
; set would take the same interrupt again at once, forever.
; IN:  interrupt frame on the current stack. OUT: all registers preserved, IF clear.
irq_tick:
    push rax
    mov al, 0x20                  ; non-specific EOI to the slave PIC (a no-op for IRQ 0–7)
    out 0xA0, al
    out 0x20, al                  ; and to the master
    pop rax
    btr qword [rsp + 16], 9       ; RFLAGS.IF in the frame (RIP, CS, RFLAGS, RSP, SS)
    iretq

idtr:
    dw IDT_ENTRIES * 16 - 1
    dq idt

section .bss
alignb 16
idt: resb IDT_ENTRIES * 16
