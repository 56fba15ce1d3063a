// The one-line reason a card is in the feed, from tidal.retrieve's label, the
// card's arm (its topic) and the user's interests nearest to it (closest first).
export function why(label, arm, nearest = []) {
  const topic = arm || 'this topic';
  switch (label) {
    case 'match': {
      const interest = nearest[0];
      if (!interest || interest === arm) return `near your interest in ${topic}`;
      return `${topic}, near your interest in ${interest}`;
    }
    case 'surprise': {
      const [a, b] = nearest;
      if (a && b) return `where your interests in ${a} and ${b} meet`;
      return `where two of your interests meet, around ${topic}`;
    }
    case 'exploring':
      return `exploring ${topic}, a topic you have seen little of`;
    default:
      return `popular in ${topic}`;
  }
}
