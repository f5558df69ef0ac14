/* s7_blocks.yar - S7-300/400 program blocks with characteristics public analyses
 * of Stuxnet describe, seen in a block download or upload (object type
 * "s7comm.block", reassembled across S7 PDUs by the s7comm dissector).
 *
 * A block as transferred starts with its load-memory header: the bytes 70 70, a
 * version byte, flags, language, the block type (08 OB, 0A DB, 0C FC, 0E FB) and
 * the block number (16 bits, big-endian) at offset 6 (layout as the Snap7 library
 * and Wireshark's s7comm dissector document it). Public sources: Symantec, "W32.Stuxnet
 * Dossier" v1.4 (2011), section "Modifying PLCs": the attack code adds blocks
 * FC1865 ... FC1874 and DB888, DB889, DB890 (and infects OB1 and OB35 to call
 * them). A legitimate program may use these numbers: the rule is a lead, not a
 * verdict. */

rule OTS_S7_Stuxnet_Block_Numbers : s7 stuxnet
{
    meta:
        description = "S7 block transfer of a DB or FC whose number matches blocks the Stuxnet attack code added (DB888-890, FC1865-1874)"
        reference = "https://docs.broadcom.com/doc/security-response-w32-stuxnet-dossier-11-en"
        source = "Symantec W32.Stuxnet Dossier v1.4, 'Modifying PLCs' (block list)"
        fr = "FR3"
        sr = "SR 3.2, SR 3.4"
        tc = "TC.MAL.SIG"
        severity = "critical"
    condition:
        /* the header bytes first: cheaper than the external, and rarely 70 70 */
        uint16be(0) == 0x7070 and ot_object_type == "s7comm.block" and
        ((uint8(5) == 0x0A and uint16be(6) >= 888 and uint16be(6) <= 890) or
         (uint8(5) == 0x0C and uint16be(6) >= 1865 and uint16be(6) <= 1874))
}
