/* tristation.yar - TRITON/TRISIS: code downloaded to a Triconex safety controller.
 *
 * Public sources: Mandiant/FireEye, "Attackers Deploy New ICS Attack Framework
 * TRITON" (2017) and "A Totally Tubular Treatise on TRITON and TriStation" (2018):
 * TRITON talks TriStation (UDP 1502) and appends a program carrying PowerPC code
 * (the Tricon's CPU) to the controller's programs. CISA MAR-17-352-01 (HatMan)
 * describes the injected PowerPC payload. A normal TriStation program download
 * carries compiled control logic too, so this rule looks for the shape of
 * hand-made PowerPC routines: a stack frame set-up (stwu r1,-n(r1); mflr r0) and
 * returns (mtlr r0 ... blr) in TriStation payloads, in the first bytes of the
 * flow each way. Tune or disable it where engineering downloads are routine. */

rule OTS_TriStation_PowerPC_Code_Download : triton tristation
{
    meta:
        description = "PowerPC routines (prologue and blr) inside TriStation (UDP 1502) traffic: code sent to a Triconex controller, as TRITON's program append did"
        reference = "https://cloud.google.com/blog/topics/threat-intelligence/totally-tubular-treatise-triton-and-tristation"
        source = "Mandiant TRITON reports (2017, 2018); CISA MAR-17-352-01 HatMan"
        fr = "FR3"
        sr = "SR 3.2, SR 3.4"
        tc = "TC.MAL.SIG"
        severity = "critical"
    strings:
        $stwu_r1 = { 94 21 (F? | E?) ?? }  /* stwu r1,-n(r1): opens a stack frame */
        $mflr_r0 = { 7C 08 02 A6 }        /* mflr r0 */
        $mtlr_r0 = { 7C 08 03 A6 }        /* mtlr r0 */
        $blr     = { 4E 80 00 20 }        /* blr */
    condition:
        /* strings first: their matches are known once the bytes are walked, while
         * each external is a lookup in libyara; most windows stop at $stwu_r1 */
        $stwu_r1 and $mflr_r0 and $mtlr_r0 and #blr >= 2 and
        ot_server_port == 1502 and ot_direction == "to_server"
}
