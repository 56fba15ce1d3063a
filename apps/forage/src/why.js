// The one-line reason a card is in the feed, from tidal.retrieve's label and arm.
export function why(label, arm, interests = []) {
  const topic = arm || 'this topic';
  switch (label) {
    case 'match':
      return `near your interest in ${topic}`;
    case 'surprise': {
      const others = interests.map((i) => i.arm).filter((a) => a && a !== arm).slice(0, 1);
      return others.length
        ? `where your interests in ${topic} and ${others[0]} meet`
        : `where two of your interests meet, around ${topic}`;
    }
    case 'exploring':
      return `exploring ${topic}, a topic you have seen little of`;
    default:
      return `popular in ${topic}`;
  }
}
